"""Relays: the servers a dhcrelay forwards to (pure), helper lines, and a Linux relay checked
over SSH (a lab host playing the relay, with a dhcrelay-shaped process).

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

from wizard.checks import relays


def test_linux_relay_over_ssh_is_checked_for_both_servers(lab_answers, lab_spec):
    from wizard.lab.hostfs import host_file

    # The secondary stands in for a relay: its /etc/default/isc-dhcp-relay lists one server.
    defaults = host_file(lab_spec, "secondary", "/etc/default/isc-dhcp-relay")
    relay = lab_spec.address("secondary")
    answers = lab_answers.with_changes("relays", ssh=(relay,))
    got = []
    try:
        defaults.write_text(f'SERVERS="{lab_spec.address("primary")}"\n')
        relays.check(answers, lambda *a: got.append(a))
        assert got[-1][2] == "fail" and lab_spec.address("secondary") in got[-1][3]
        assert "SERVERS=" in got[-1][4]
        defaults.write_text(f'SERVERS="{lab_spec.address("primary")} {relay}"\n')
        relays.check(answers, lambda *a: got.append(a))
        assert got[-1][2] == "pass"
    finally:
        defaults.unlink(missing_ok=True)
