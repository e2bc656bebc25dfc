import pytest

from tests.helpers.conf import needs_dhcpd
from wizard.conf.validate import check_with_dhcpd, dhcpd_errors, parse_dhcpd_output
from wizard.errors import InputError

# Recorded from isc-dhcpd 4.4.3-P1 (Debian 12) on a config missing a semicolon.
RECORDED = """\
Internet Systems Consortium DHCP Server 4.4.3-P1
Copyright 2004-2022 Internet Systems Consortium.
All rights reserved.
For info, please visit https://www.isc.org/software/dhcp/
/tmp/dhcp-wizard-x.conf line 3: semicolon expected.
  option 
   ^
Configuration file errors encountered -- exiting

If you think you have received this message due to a bug rather
than a configuration issue please read the section on submitting
bugs on either our web page at www.isc.org or in the README file
exiting.
"""
BROKEN = "subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.5 10.0.0.9\n  option routers 10.0.0.1;\n}\n"


def test_recorded_output_becomes_located_error():
    errors = parse_dhcpd_output(RECORDED, "/tmp/dhcp-wizard-x.conf", "primary.conf", BROKEN)
    assert errors == ["primary.conf:3:4: semicolon expected.\n"
                      "    option routers 10.0.0.1;\n"
                      "     ^"]


def test_unlocated_errors_are_kept_and_banners_dropped():
    out = ("Internet Systems Consortium DHCP Server 4.4.3-P1\nPID file: /var/run/dhcpd.pid\n"
           "ERROR: Failover peer, fp, has no referring pools.\n"
           "Failover configuration sanity check failed\n\nIf you think you have received\n")
    assert parse_dhcpd_output(out, "/tmp/x", "p.conf", "") == [
        "p.conf: ERROR: Failover peer, fp, has no referring pools.",
        "p.conf: Failover configuration sanity check failed"]


@needs_dhcpd
def test_real_dhcpd_accepts_and_rejects():
    assert dhcpd_errors("subnet 10.0.0.0 netmask 255.255.255.0 { range 10.0.0.5 10.0.0.9; }\n") == []
    errors = dhcpd_errors(BROKEN, "primary.conf")
    assert len(errors) == 1 and errors[0].startswith("primary.conf:3:")
    assert errors[0].splitlines()[1].strip() == "option routers 10.0.0.1;"


@needs_dhcpd
def test_real_dhcpd_failover_rules_are_reported():
    text = ('failover peer "fo" {\n  secondary;\n  peer address 10.0.0.1;\n  split 128;\n}\n'
            'subnet 10.0.0.0 netmask 255.255.255.0 {\n'
            '  pool { failover peer "fo"; range 10.0.0.5 10.0.0.9; }\n}\n')
    with pytest.raises(InputError) as exc:
        check_with_dhcpd(text, "secondary.conf")
    assert "secondary.conf:" in exc.value.message and "load balance" in exc.value.message
    assert exc.value.exit_code == 2
