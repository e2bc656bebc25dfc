"""`dhcp-wizard upgrade` on a bad day, on the real lab with an hour of MCLT: the wizard killed
(kill -9) in the middle of a peer's window (the detached command ends, then the guard brings
the peer back), and the SSH link to a peer cut while its dhcpd restarts onto the new release
(the restart completes there; the wizard says it lost contact, never that the peer failed)."""

from __future__ import annotations

import pytest

from tests.helpers.upgrade import (assert_answered_but_at_restarts, production_pair,
                                   session_events, states, version)
from wizard.lab.continuity import Continuity

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def production(lab, lab_spec, tmp_path_factory):
    yield from production_pair(lab_spec, tmp_path_factory)


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


def test_ssh_cut_while_the_new_release_starts_the_restart_completes_and_the_wizard_says_so(
        production, lab_spec):
    """The secondary has the new release on disk and is back in normal; its dhcpd is being
    restarted in service when SSH to it is cut (failover and DHCP still flow). The detached
    restart completes; the wizard stops within its contact limit, says it lost contact and
    what to run next, and no client goes unanswered."""
    import subprocess
    import sys
    import threading
    import time

    from tests.conftest import REPO

    ns = lab_spec.netns("secondary")
    cut = ["ip", "netns", "exec", ns, "nft", "-f", "-"]
    rules = ("table inet test_cut {\n chain input {\n  type filter hook input priority -5;\n"
             "  tcp dport 22 drop\n }\n}\n")
    # After the killed upgrade above the peers differ in release on disk: accepted here.
    proc = subprocess.Popen(
        [sys.executable, "-m", "wizard", "upgrade", "--answers", str(production), "--command",
         "lab-upgrade-dhcpd", "--order", "secondary,primary", "--yes", "--accept",
         "ntp,version-parity"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, bufsize=1, stdin=subprocess.DEVNULL)
    seen: list[str] = []
    cut_at: list[float] = []

    def follow() -> None:
        for line in proc.stdout:
            seen.append(line)
            if not cut_at and "secondary: restarting its dhcpd in service" in line:
                subprocess.run(cut, input=rules, text=True, check=True)
                cut_at.append(time.monotonic())

    reader = threading.Thread(target=follow, daemon=True)
    try:
        with Continuity(lab_spec, every=1.0) as probe:
            reader.start()
            try:
                proc.wait(300)
            except subprocess.TimeoutExpired:
                pytest.fail("the upgrade was still running 300 s on"
                            + (f", {time.monotonic() - cut_at[0]:.0f} s after the cut"
                               if cut_at else ", the cut never made") + ":\n"
                            + "".join(seen)[-4000:])
            reader.join(10)
            stopped = time.monotonic()
            subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet",
                            "test_cut"], check=False)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and states(production) != {
                    "primary": "normal", "secondary": "normal"}:
                time.sleep(1)
    finally:
        subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet",
                        "test_cut"], check=False, capture_output=True)
        if proc.poll() is None:
            proc.kill()
    out = "".join(seen)
    assert cut_at, "the upgrade never reached the secondary's in-service restart:\n" + out[-3000:]
    assert proc.returncode == 1, out[-3000:]
    assert "lost contact with secondary while its dhcpd restarted" in out, out[-3000:]
    assert "completes by itself" in out and "dhcp-wizard check" in out
    assert "primary   upgrade" not in out, "it went on to the primary without knowing"
    assert stopped - cut_at[0] < 60, f"{stopped - cut_at[0]:.0f} s after the cut"
    assert states(production) == {"primary": "normal", "secondary": "normal"}
    # The restart ran to its end on the host: the process that runs is the new release.
    from tests.helpers.lab import sh, ssh

    from wizard.remote.shell import dhcpd_pids

    client = ssh(lab_spec, "secondary")
    try:
        # This host's dhcpd (the lab hosts share the machine's process list; the product's
        # own filter keeps the one in this network namespace), its program as started.
        running = sh(client, f"p=$({dhcpd_pids()} | head -n 1); /proc/$p/exe --version "
                             "2>&1")[1].strip()
    finally:
        client.close()
    assert running == version(lab_spec, "secondary"), (running, version(lab_spec, "secondary"))
    # At most the one DISCOVER the old process was still ping-checking when it stopped.
    assert_answered_but_at_restarts(probe.report(), session_events(out))
