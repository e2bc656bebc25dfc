"""A degraded pair fails `lab status` and `check`, with a fix that works when run as printed.

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

import subprocess
import time

from wizard.lab.daemons import is_program as _is_program


def test_a_pid_is_the_daemon_only_when_its_program_is():
    proc = subprocess.Popen(["sleep", "5"])
    try:
        # Just after the fork the child's cmdline can still read empty.
        deadline = time.monotonic() + 2
        while not open(f"/proc/{proc.pid}/cmdline", "rb").read() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _is_program(proc.pid, "sleep") and not _is_program(proc.pid, "dhcpd")
    finally:
        proc.kill()
        proc.wait()
