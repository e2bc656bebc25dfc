"""The stdlib DHCP probe: packet encoding, and a real DORA + release against the lab.

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

import ipaddress

import pytest

from wizard.ops.lease_probe import LocalProbe, SshProbe


def in_pool(spec, address: str) -> bool:
    start, end = (ipaddress.IPv4Address(a) for a in spec.pool)
    return start <= ipaddress.IPv4Address(address) <= end


@pytest.mark.lab
def test_local_probe_gets_and_releases_a_lease_on_the_lab_segment(lab, lab_spec):
    got = LocalProbe(lab_spec.bridge).obtain(timeout=10)
    assert in_pool(lab_spec, got["address"])
    assert got["server"] in (lab_spec.address("primary"), lab_spec.address("secondary"))
    logs = "".join((lab_spec.host_dir(r) / "var-log" / "syslog").read_text()
                   for r in ("primary", "secondary"))
    assert f"DHCPRELEASE of {got['address']} from {got['mac']}" in logs


@pytest.mark.lab
def test_ssh_probe_runs_the_client_on_a_host_of_the_segment(lab, lab_answers, lab_spec):
    probe = SshProbe(lab_answers.primary, "eth0")
    got = probe.obtain(timeout=10)
    assert in_pool(lab_spec, got["address"]) and got["interface"] == "eth0"


@pytest.mark.lab
def test_a_probe_on_a_silent_interface_says_so(lab, lab_spec):
    with pytest.raises(Exception, match="no DHCP server offered an address within 2 s"):
        LocalProbe("lo").obtain(timeout=2)
