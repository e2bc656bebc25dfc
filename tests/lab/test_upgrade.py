"""`dhcp-wizard upgrade` on the real lab with an hour of MCLT: both peers through the
rehearsal build one at a time with a client asking for an address every second throughout,
and a peer whose upgrade fails left out of service while its partner serves everyone."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import run_cli
from tests.helpers.apply import fresh
from tests.helpers.lab import sh, ssh
from wizard.answers import load_answers
from wizard.lab.continuity import Continuity

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def production(lab, lab_spec, tmp_path_factory):
    """A fresh pair deployed with mclt 3600 (max-response-delay stays short, so the drill's
    fresh-contact wait stays short: what is measured here is MCLT)."""
    fresh(lab_spec)
    text = lab_spec.answers_path.read_text()
    assert "mclt = 30\n" in text
    path = tmp_path_factory.mktemp("upgrade") / "production.toml"
    path.write_text(text.replace("mclt = 30\n", "mclt = 3600\n"))
    proc = run_cli("deploy", "--answers", str(path), "--yes", "--accept", "ntp", "--no-drill",
                   timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    yield path
    fresh(lab_spec)


def version(spec, role: str) -> str:
    client = ssh(spec, role)
    try:
        return sh(client, "/usr/sbin/dhcpd --version 2>&1")[1].strip()
    finally:
        client.close()


def states(path) -> dict[str, str]:
    from wizard.ops.omapi import read_states

    a = load_answers(path)
    secret = open(a.omapi.secret_file).read().strip()
    eps = {r: (a.host(r).host, a.omapi.port) for r in ("primary", "secondary")}
    got = read_states(eps, a.omapi.key_name, secret, a.failover.name, timeout=3)
    return {r: s.state.local_state if s.state else "unreachable" for r, s in got.items()}


def session_events(stdout: str) -> list[dict]:
    where = re.search(r"session recorded in (\S+)", stdout).group(1)
    with open(f"{where}/events.jsonl") as fh:
        return [json.loads(line) for line in fh]


def test_both_peers_are_upgraded_one_at_a_time_with_no_client_refused(production, lab_spec):
    with Continuity(lab_spec, every=1.0) as probe:
        probe.wait(2)
        proc = run_cli("upgrade", "--answers", str(production), "--command",
                       "lab-upgrade-dhcpd", "--yes", "--accept", "ntp", timeout=400)
        probe.wait(2)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr
    report = probe.report()
    assert report.unanswered == 0, report.line()
    assert set(report.served_by) == {"primary", "secondary"}, report.line()
    for role in ("primary", "secondary"):
        assert re.search(rf"{role}\s+dhcpd 4\.4\.3-P1 -> 4\.4\.3-R1", out), out[-3000:]
        assert version(lab_spec, role) == "isc-dhcpd-4.4.3-R1"
        # Back without waiting out the hour of MCLT: the returning peer went straight on.
        assert f"recover-{role} ok: both peers are normal again" in out
    assert out.index("secondary upgrade") < out.index("primary   upgrade"), "secondary first"
    assert "-> recover-wait" not in out
    assert "PASS  version-parity: both run dhcpd 4.4.3-R1" in out
    events = session_events(out)
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

    # The operator repairs the secondary; --resume brings it back and upgrades the primary.
    client = ssh(lab_spec, "secondary")
    try:
        assert sh(client, "lab-upgrade-dhcpd")[0] == 0
    finally:
        client.close()
    proc = run_cli("upgrade", "--answers", str(production), "--command", "lab-upgrade-dhcpd",
                   "--yes", "--accept", "ntp", "--resume", "secondary", timeout=400)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert "verify-secondary ok" in proc.stdout and "recover-secondary ok" in proc.stdout
    assert states(production) == {"primary": "normal", "secondary": "normal"}
    assert version(lab_spec, "primary") == version(lab_spec, "secondary")


def test_a_killed_upgrade_lets_its_command_finish_then_the_guard_puts_the_peer_back(
        production, lab_spec, tmp_path):
    """kill -9 of the wizard while the upgrade command runs in the secondary's window: the
    command (detached) runs to its end, the guard waits for it, then sets the secondary back
    to recover; the primary served alone meanwhile, and nothing is left stopped."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO
    from tests.helpers.interrupt import BOUND, guard_results, read_until

    assert states(production) == {"primary": "normal", "secondary": "normal"}
    guards = lab_spec.host_dir("secondary") / "run" / "dhcp-wizard"
    earlier = set(guards.glob("2*"))      # the guards of the tests before, windows and all
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "upgrade", "--answers", str(production), "--command",
         "sleep 22; lab-upgrade-dhcpd", "--yes", "--accept", "ntp", "--session",
         str(tmp_path / "s")], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, bufsize=1, stdin=subprocess.DEVNULL, start_new_session=True)
    read_until(proc, r"secondary: running `sleep 22")
    deadline = time.monotonic() + 10

    def started() -> bool:
        return any((d / "window.started").exists() for d in set(guards.glob("2*")) - earlier)

    while not started() and time.monotonic() < deadline:
        time.sleep(0.1)      # the command is on its way to the host: kill once it runs there
    assert started()
    with Continuity(lab_spec, every=1.0) as probe:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        killed = time.monotonic()
        deadline = killed + BOUND + 30
        while time.monotonic() < deadline and states(production) != {
                "primary": "normal", "secondary": "normal"}:
            time.sleep(1)
        back = time.monotonic() - killed
    assert states(production) == {"primary": "normal", "secondary": "normal"}, back
    assert guard_results(lab_spec)["secondary"][-1] == "recovered"
    log = "".join(p.read_text() for p in
                  (lab_spec.host_dir("secondary") / "run" / "dhcp-wizard").glob("2*/guard.log"))
    assert "waiting for the maintenance command to end first" in log
    # The command ran to its end: the new build is on disk; the old process still runs.
    assert version(lab_spec, "secondary").startswith("isc-dhcpd-4.4.3-R")
    report = probe.report()
    assert report.unanswered == 0, report.line()
    print(f"\nkill -9 mid-window: both normal again {back:.1f} s later; {report.line()}")
