"""Facts: pure parsers on recorded outputs of real host shapes, and the script on the lab.

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

from pathlib import Path

import pytest

from wizard.facts import gather, read_config


DATA = Path(__file__).parents[1] / "data" / "facts"


@pytest.fixture(scope="module")
def pair(lab_answers):
    from wizard.remote.ssh import Pair

    with Pair(lab_answers) as p:
        yield p


def test_gather_on_the_lab(pair, lab_spec):
    f = gather(pair.conn("secondary"))
    assert f.os.family == "debian" and f.dhcpd.version == "4.4.3-P1" and f.running
    assert f.config.value == "/etc/dhcp/dhcpd.conf"
    assert any(a.address == lab_spec.address("secondary") for a in f.addresses)
    assert f.listens("udp", 67) and f.ntp.daemon == "chrony"
    assert f.service.restart == "service isc-dhcp-server restart"


def test_config_read_over_ssh_follows_includes(pair, lab_spec):
    from wizard.lab.hostfs import host_file

    inc = host_file(lab_spec, "primary", "/etc/dhcp/dhw-test-include.conf")
    inc.write_text("omapi-port 7911;\n")
    main = host_file(lab_spec, "primary", "/etc/dhcp/dhw-test-main.conf")
    main.write_text('include "/etc/dhcp/dhw-test-include.conf";\n'
                    "subnet 10.9.0.0 netmask 255.255.255.0 { range 10.9.0.10 10.9.0.20; }\n")
    try:
        _, summary = read_config(pair.conn("primary"), "/etc/dhcp/dhw-test-main.conf")
        assert summary["omapi_port"] == 7911 and summary["subnets"] == ["10.9.0.0/24"]
        assert summary["files"][1] == "/etc/dhcp/dhw-test-include.conf"
        _, missing = read_config(pair.conn("primary"), "/etc/dhcp/nope.conf")
        assert "nope.conf" in missing["error"]
    finally:
        inc.unlink()
        main.unlink()
