"""The service-continuity probe: gap arithmetic, then against the real lab dhcpd servers.

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import TEST_LAB_NAME, run_cli
from tests.helpers.lab import start_dhcpd
from wizard.lab import lifecycle
from wizard.lab.continuity import Continuity


NAMES = {"10.0.0.11": "primary", "10.0.0.12": "secondary"}


def _dhcpd_pid(spec, role: str) -> int | None:
    return lifecycle.status(spec)["hosts"][role]["daemons"]["dhcpd"]["pid"]


def test_both_servers_serving_means_no_gap(lab, lab_spec):
    with Continuity(lab_spec, every=0.5) as probe:
        probe.wait(4.0)
    report = probe.report()
    assert len(report.requests) >= 7, report.line()
    assert report.unanswered == 0 and report.longest_gap == 0.0, report.line()
    # The baseline is two plain servers on one pool: both offer to every client.
    assert set(report.served_by) == {"primary", "secondary"}, report.served_by
    offered = {r.address for r in report.requests}
    assert len(offered) <= 8  # the probe holds no more addresses than it has identities


def test_both_dhcpd_killed_shows_a_gap_of_the_right_size(lab, lab_spec):
    pids = {r: _dhcpd_pid(lab_spec, r) for r in ("primary", "secondary")}
    assert all(pids.values()), pids
    outage = 4.0
    try:
        with Continuity(lab_spec, every=1.0) as probe:
            probe.wait(3.0)
            killed_at = time.time()
            for pid in pids.values():
                os.kill(pid, signal.SIGKILL)
            time.sleep(outage)
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda r: start_dhcpd(lab_spec, r, killed=pids[r]),
                              ("primary", "secondary")))
            restarted_at = time.time()
            probe.wait(5.0)
    finally:
        for role in ("primary", "secondary"):
            if _dhcpd_pid(lab_spec, role) is None:
                start_dhcpd(lab_spec, role, killed=pids[role])
    report = probe.report()
    assert report.requests[-1].answered, report.line()  # service came back
    assert len(report.gaps) == 1, [g.__dict__ for g in report.gaps]
    gap = report.gaps[0]
    assert 3.0 <= report.longest_gap <= 8.0, report.line()
    assert report.unanswered >= 3 and gap.requests == report.unanswered
    # The gap lies where the servers were down: it opened at the kill (the request in flight
    # then is lost too) and closed only once dhcpd was started again. The init script returns
    # a second or so after dhcpd serves, so the restart's end bounds nothing.
    assert killed_at - 1.0 <= gap.start <= killed_at + 1.5  # one interval, plus jitter
    assert gap.start + gap.seconds >= killed_at + outage
    print(report.line(), f"(restart took {restarted_at - killed_at - outage:.1f} s)")


def test_lab_probe_cli_prints_each_request_and_a_json_summary(lab, lab_spec):
    proc = run_cli("lab", "probe", "--name", TEST_LAB_NAME, "--every", "0.5", "--for", "2",
                   "--json", timeout=30)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["summary"]["requests"] == 4 and out["summary"]["unanswered"] == 0
    assert out["summary"]["longest_gap"] == 0.0
    assert all(r["answered"] and r["server_roles"] for r in out["requests"])
    human = run_cli("lab", "probe", "--name", TEST_LAB_NAME, "--every", "1", "--for", "2",
                    timeout=30)
    assert human.returncode == 0, human.stderr
    lines = human.stdout.strip().splitlines()
    assert len(lines) == 3 and "offer" in lines[0] and lines[-1].startswith("continuity: 2 requests")
