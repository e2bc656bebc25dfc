"""`dhcp-wizard upgrade` killed (kill -9) in the middle of a peer's window, on the real lab
with an hour of MCLT: the detached command ends, then the guard brings the peer back."""

from __future__ import annotations

import pytest

from tests.helpers.upgrade import production_pair, states, version
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
