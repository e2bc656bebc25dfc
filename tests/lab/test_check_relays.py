"""Relays over SSH on a host whose dhcrelay is not running: the check falls back to its
/etc/default/isc-dhcp-relay. A real dhcrelay forwarding to one server, then to both, is
tests/lab/test_routed_lab.py's; the pure parsing is in tests/unit/."""

from __future__ import annotations

from wizard.checks import relays


def test_a_stopped_relay_is_judged_by_its_defaults_file(lab_answers, lab_spec):
    from wizard.lab.hostfs import host_file

    # The secondary as a relay host with isc-dhcp-relay configured but not running.
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
