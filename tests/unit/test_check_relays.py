"""Relays: the servers a dhcrelay forwards to (pure), helper lines, and a Linux relay checked
over SSH (a lab host playing the relay, with a dhcrelay-shaped process).

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

from wizard.checks import relays
from wizard.answers import answers_from_dict


def test_servers_from_the_running_dhcrelay_or_its_defaults_file():
    out = "@@ps\n/usr/sbin/dhcrelay -4 -i eth1 -p 67 10.0.0.11 10.0.0.12\n@@default\n"
    assert relays.relay_servers(out) == ({"10.0.0.11", "10.0.0.12"}, "running dhcrelay")
    out = '@@ps\n@@default\n# comment\nSERVERS="10.0.0.11"\nINTERFACES=""\n'
    assert relays.relay_servers(out) == ({"10.0.0.11"}, "/etc/default/isc-dhcp-relay")
    assert relays.relay_servers("@@ps\n@@default\n")[0] == set()


def test_unchecked_relay_gets_helper_lines_until_confirmed():
    base = {"primary": {"host": "10.0.0.11"}, "secondary": {"host": "10.0.0.12"}}
    got = []
    add = lambda *a: got.append(a)  # noqa: E731
    relays.check(answers_from_dict({**base, "relays": {"addresses": ["10.5.0.1"]}}), add)
    [(_id, host, status, detail, fix)] = got
    assert (host, status) == ("10.5.0.1", "warn")
    assert "ip helper-address 10.0.0.11" in fix and "ip helper-address 10.0.0.12" in fix
    assert "server-group DHCP 10.0.0.12" in fix and 'SERVERS="10.0.0.11 10.0.0.12"' in fix
    got.clear()
    relays.check(answers_from_dict({**base, "relays": {"addresses": ["10.5.0.1"],
                                                       "confirmed": ["10.5.0.1"]}}), add)
    assert got[0][2] == "pass" and "confirmed" in got[0][3]
