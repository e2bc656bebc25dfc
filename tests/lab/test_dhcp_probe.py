"""The stdlib DHCP probe: packet encoding, and a real DORA + release against the lab.

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

import ipaddress

import pytest

from wizard.ops.lease_probe import LocalProbe, SshProbe


def in_pool(spec, address: str) -> bool:
    start, end = (ipaddress.IPv4Address(a) for a in spec.pool)
    return start <= ipaddress.IPv4Address(address) <= end


def _logs(spec) -> str:
    return "".join((spec.host_dir(r) / "var-log" / "syslog").read_text()
                   for r in ("primary", "secondary"))


@pytest.mark.lab
def test_local_probe_gets_a_lease_on_the_lab_segment_and_releases_it_only_when_asked(lab,
                                                                                    lab_spec):
    released = LocalProbe(lab_spec.bridge)
    released.release = True
    got = released.obtain(timeout=10)
    assert in_pool(lab_spec, got["address"]) and got["released"] is True
    assert got["server"] in (lab_spec.address("primary"), lab_spec.address("secondary"))
    assert f"DHCPRELEASE of {got['address']} from {got['mac']}" in _logs(lab_spec)
    # The drill's proof keeps its lease: a release would make the returning peer wait out MCLT.
    kept = LocalProbe(lab_spec.bridge).obtain(timeout=10)
    assert kept["released"] is False and in_pool(lab_spec, kept["address"])
    assert f"DHCPACK on {kept['address']} to {kept['mac']}" in _logs(lab_spec)
    assert f"DHCPRELEASE of {kept['address']}" not in _logs(lab_spec)


@pytest.mark.lab
def test_ssh_probe_runs_the_client_on_a_host_of_the_segment(lab, lab_answers, lab_spec):
    probe = SshProbe(lab_answers.primary, "eth0")
    got = probe.obtain(timeout=10)
    assert in_pool(lab_spec, got["address"]) and got["interface"] == "eth0"


@pytest.mark.lab
def test_a_probe_on_a_silent_interface_says_so(lab, lab_spec):
    with pytest.raises(Exception, match="no DHCP server offered an address within 2 s"):
        LocalProbe("lo").obtain(timeout=2)
