"""sh.dhcpd_pids(), the real snippet run here against real processes named dhcpd (a copy of
the Python interpreter under that name, so that any arguments are accepted): the serving
daemon is found, its short-lived siblings (`dhcpd -t`, `--version`) and IPv6 servers are
not, whatever their pids."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from wizard.remote.shell import dhcpd_pids

pytestmark = pytest.mark.skipif(shutil.which("pgrep") is None or not os.path.isdir("/proc"),
                                reason="needs pgrep and /proc")
SLEEP = "import time; time.sleep(30)"


def test_only_the_serving_dhcpd_counts(tmp_path):
    fake = tmp_path / "dhcpd"
    shutil.copy(os.path.realpath(sys.executable), fake)
    runs = {name: subprocess.Popen([str(fake), "-c", SLEEP, *args])
            for name, args in (("test run", ["-t", "-cf", "x.conf"]),
                               ("version", ["--version"]),
                               ("v6", ["-6", "-cf", "x.conf"]),
                               ("trace file", ["-tf", "trace", "-cf", "x.conf"]),
                               ("daemon", ["-4", "-cf", "x.conf", "eth0"]))}
    try:
        time.sleep(0.5)
        out = subprocess.run(["sh", "-c", dhcpd_pids()], capture_output=True, text=True,
                             timeout=10).stdout.split()
    finally:
        for p in runs.values():
            p.kill()
            p.wait()
    # Only this test's processes are looked at: a lab's real dhcpd may run on the machine
    # meanwhile (CI runs the lab tests beside these), and is rightly listed.
    ours = {str(p.pid) for p in runs.values()}
    assert sorted(set(out) & ours) == sorted(str(runs[n].pid) for n in ("daemon", "trace file"))
