"""`dhcp-wizard upgrade` on the real lab with an hour of MCLT: both peers through the
rehearsal build one at a time with a client asking for an address every second throughout,
and a peer whose upgrade fails left out of service while its partner serves everyone.
(A wizard killed mid-window, a link cut mid-restart: test_upgrade_bad_day.py, on a worker
of its own.)"""

from __future__ import annotations

import re

import pytest

from tests.conftest import run_cli
from tests.helpers.lab import sh, ssh
from tests.helpers.upgrade import (assert_answered_but_at_restarts, assert_answered_but_in,
                                   production_pair, reconcile_spans, session_events, states,
                                   version)
from wizard.lab.continuity import Continuity

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def production(lab, lab_spec, tmp_path_factory):
    yield from production_pair(lab_spec, tmp_path_factory)


def test_both_peers_are_upgraded_one_at_a_time_with_no_client_refused(production, lab_spec):
    with Continuity(lab_spec, every=1.0) as probe:
        probe.wait(2)
        proc = run_cli("upgrade", "--answers", str(production), "--command",
                       "lab-upgrade-dhcpd", "--yes", "--accept", "ntp", timeout=400)
        probe.wait(2)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr
    report = probe.report()
    events = session_events(out)
    assert_answered_but_at_restarts(report, events)
    assert set(report.served_by) == {"primary", "secondary"}, report.line()
    for role in ("primary", "secondary"):
        assert re.search(rf"{role}\s+dhcpd 4\.4\.3-P1 -> 4\.4\.3-R1", out), out[-3000:]
        assert version(lab_spec, role) == "isc-dhcpd-4.4.3-R1"
        # Back without waiting out the hour of MCLT: the returning peer went straight on.
        assert f"recover-{role} ok: both peers are normal again" in out
    assert out.index("secondary upgrade") < out.index("primary   upgrade"), "secondary first"
    assert "-> recover-wait" not in out
    assert "PASS  version-parity: both run dhcpd 4.4.3-R1" in out
    done = {e["host"]: e["data"] for e in events if e["step"] == "upgrade"
            and e["kind"] == "peer-done"}
    assert {r: (d["before"], d["after"]) for r, d in done.items()} == {
        "primary": ("4.4.3-P1", "4.4.3-R1"), "secondary": ("4.4.3-P1", "4.4.3-R1")}
    assert states(production) == {"primary": "normal", "secondary": "normal"}


def test_a_failed_upgrade_leaves_the_survivor_serving_and_resume_finishes(production,
                                                                          lab_spec):
    with Continuity(lab_spec, every=1.0) as probe:
        probe.wait(2)
        proc = run_cli("upgrade", "--answers", str(production), "--command",
                       "lab-upgrade-dhcpd --broken", "--yes", "--accept", "ntp",
                       timeout=400)
        probe.wait(3)
    out = proc.stdout
    assert proc.returncode == 1, out[-4000:]
    assert "window-secondary FAILED" in out and "rejects /etc/dhcp/dhcpd.conf" in out
    assert "primary serves every client alone (partner-down) and was not touched" in out
    assert "--resume secondary" in out
    # Never both down: the secondary stays out, the primary serves, no request went unanswered.
    assert states(production) == {"primary": "partner-down", "secondary": "shutdown"}
    report = probe.report()
    assert report.unanswered == 0 and "primary" in report.served_by, report.line()

    # The operator repairs the secondary and restarts its dhcpd to see it run (it comes back
    # shut down); --resume sees a process started since the shutdown, brings it back without
    # an MCLT wait and does not restart it again, then upgrades the primary.
    client = ssh(lab_spec, "secondary")
    try:
        assert sh(client, "lab-upgrade-dhcpd && service isc-dhcp-server restart")[0] == 0
    finally:
        client.close()
    proc = run_cli("upgrade", "--answers", str(production), "--command", "lab-upgrade-dhcpd",
                   "--yes", "--accept", "ntp", "--resume", "secondary", timeout=400)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert "verify-secondary ok" in proc.stdout and "reconcile-secondary ok" in proc.stdout
    assert "release-secondary ok" in proc.stdout and "-> recover-wait" not in proc.stdout
    assert states(production) == {"primary": "normal", "secondary": "normal"}
    assert version(lab_spec, "primary") == version(lab_spec, "secondary")


def test_a_package_that_restarts_dhcpd_itself_is_not_restarted_again(production, lab_spec):
    """What real packages do (Debian's postinst, RPM's try-restart): the window's command
    restarts dhcpd while the peer is shut down. That fresh process would wait out the hour
    of MCLT in recover-wait (it reloads updates still to send); it rejoins through dhcpd's
    conflict resolution instead, and since it already runs the release, it is not restarted
    again. Twice in a row: the second upgrade's peers have served alone before, the case
    that fills the queue (measured: recover-wait every time)."""
    for _ in range(2):
        before = {r: version(lab_spec, r) for r in ("primary", "secondary")}
        with Continuity(lab_spec, every=1.0) as probe:
            probe.wait(2)
            proc = run_cli("upgrade", "--answers", str(production), "--command",
                           "lab-upgrade-dhcpd && service isc-dhcp-server restart", "--yes",
                           "--accept", "ntp", timeout=400)
            probe.wait(2)
        out = proc.stdout
        assert proc.returncode == 0, out[-4000:] + proc.stderr
        assert "-> recover-wait" not in out, out[-3000:]
        for role in ("primary", "secondary"):
            assert f"reconcile-{role} ok: both peers normal" in out, out[-3000:]
            assert re.search(rf"release-{role} ok: {role} already runs dhcpd 4\.4\.3-R\d+: "
                             "the window's own work restarted it", out), out[-3000:]
            assert f"restarting {role}:" not in out and f"restart-{role}" not in out
            assert version(lab_spec, role) != before[role]
        spans = reconcile_spans(session_events(out))
        assert len(spans) == 2
        # Conflict resolution answers no one for its seconds (2-4 s measured), and nothing
        # else in the upgrade may cost a request.
        assert_answered_but_in(probe.report(), spans, most=6)
        assert states(production) == {"primary": "normal", "secondary": "normal"}
