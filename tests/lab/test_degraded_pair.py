"""A degraded pair fails `lab status` and `check`, with a fix that works when run as printed.

Against the real lab; the pure part is in tests/unit/."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

from tests.conftest import TEST_LAB_NAME, run_cli
from tests.helpers.failover import RELATIONSHIP, FailoverPair, wait_normal
from tests.helpers.lab import start_dhcpd
from wizard.lab import lifecycle
from wizard.ops.omapi import OmapiClient, read_states
from wizard.ops.statewatch import both, roles_in, wait_for


def test_sigkilled_dhcpd_is_down_although_its_pid_file_remains(lab, lab_spec):
    pid = lifecycle.status(lab_spec)["hosts"]["secondary"]["daemons"]["dhcpd"]["pid"]
    pidfile = lab_spec.host_dir("secondary") / "run" / "dhcpd.pid"
    os.kill(pid, signal.SIGKILL)
    try:
        time.sleep(0.3)
        assert pidfile.read_text().split()[0] == str(pid)   # what a SIGKILL leaves
        proc = run_cli("lab", "status", "--name", TEST_LAB_NAME)
        assert proc.returncode == 1 and "UNHEALTHY" in proc.stdout, proc.stdout
        assert re.search(r"secondary .*dhcpd DOWN", proc.stdout), proc.stdout
    finally:
        start_dhcpd(lab_spec, "secondary", killed=pid)
    assert run_cli("lab", "status", "--name", TEST_LAB_NAME).returncode == 0


def _failover_state(proc) -> dict[str, dict]:
    report = json.loads(proc.stdout)
    return {c["host"]: c for c in report["checks"] if c["id"] == "failover-state"}


def test_peer_left_in_shutdown_fails_status_and_check_until_recovered(lab, lab_spec, tmp_path):
    """The drill's graceful stop leaves a peer in shutdown, which survives restarts."""
    started = time.monotonic()
    pair = FailoverPair(lab_spec)
    pair.start()
    try:
        assert wait_normal(pair, timeout=30).ok
        secret_file = tmp_path / "omapi.secret"
        secret_file.write_text(pair.secret + "\n")
        os.chmod(secret_file, 0o600)
        answers = tmp_path / "answers.toml"
        answers.write_text(re.sub(r'secret_file = ".*"', f'secret_file = "{secret_file}"',
                                  lab_spec.answers_path.read_text()))

        def status():
            return run_cli("lab", "status", "--name", TEST_LAB_NAME, timeout=30)

        def check(n):
            return run_cli("check", "--answers", str(answers), "--json", "--session",
                           str(tmp_path / f"session{n}"), timeout=60)

        ok = status()
        assert ok.returncode == 0, ok.stdout
        assert "primary normal (partner normal)" in ok.stdout
        assert all(c["status"] == "pass" for c in _failover_state(check(1)).values())

        with OmapiClient(lab_spec.address("primary"), 7911, "omapi_key", pair.secret) as c:
            c.set_local_state(RELATIONSHIP, "shutdown")
        reader = lambda: read_states(pair.endpoints(), "omapi_key", pair.secret, RELATIONSHIP)  # noqa: E731
        assert wait_for(reader, roles_in(primary="shutdown", secondary="partner-down"), 20).ok

        bad = status()
        assert bad.returncode == 1 and "UNHEALTHY" in bad.stdout, bad.stdout
        assert "FAIL      primary: shutdown" in bad.stdout
        assert "the primary is out of service" in bad.stdout
        assert pair.secret not in bad.stdout + bad.stderr

        failed = check(2)
        assert failed.returncode == 1
        fs = _failover_state(failed)
        assert fs["primary"]["status"] == "fail" and "out of service" in fs["primary"]["detail"]
        assert fs["secondary"]["status"] == "fail"
        assert "the primary is out of service (shutdown)" in fs["secondary"]["detail"]
        fix = fs["primary"]["fix"]
        assert pair.secret not in failed.stdout and str(secret_file) in fix
        # The fix, run exactly as printed, brings the primary back.
        command = fix.split("`")[1]
        out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=20)
        assert "local-state = 6" in out.stdout, out.stdout + out.stderr
        back = wait_for(reader, both("normal"), 40)
        assert back.ok, back.states()

        assert status().returncode == 0
        again = check(3)
        assert again.returncode == 0
        assert all(c["status"] == "pass" for c in _failover_state(again).values())
        for path in tmp_path.glob("session*/**/*"):
            if path.is_file():
                assert pair.secret not in path.read_text(errors="replace"), path
    finally:
        pair.stop()
    assert time.monotonic() - started < 60
