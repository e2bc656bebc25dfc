"""The command leaves at once after a plan (no interpreter finalization): its output must
still all be there, and a reader that leaves early must still get a quiet exit."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO
from tests.helpers.conf import ANSWERS
from tests.unit.test_conf_plan import BASE
from tests.unit.test_conf_plan_parallel import campus
from wizard.record.session import read_events


# Buffered as a user's terminal or pipe has it (PYTHONUNBUFFERED would hide a lost flush).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def _plan_argv(tmp_path, text: str) -> list[str]:
    (tmp_path / "p.conf").write_text(text)
    (tmp_path / "s.conf").write_text(text)
    (tmp_path / "a.toml").write_text(ANSWERS.format(failover="", omapi=""))
    return [sys.executable, "-m", "wizard", "plan", "--answers", str(tmp_path / "a.toml"),
            "--from", str(tmp_path / "p.conf"), str(tmp_path / "s.conf"), "--session",
            str(tmp_path / "session"), "--out", str(tmp_path / "out")]


def test_everything_a_plan_writes_is_there_when_it_has_left(tmp_path):
    # Small: the whole output is still in the stream's buffer when the command is done.
    proc = subprocess.run(_plan_argv(tmp_path, BASE), capture_output=True, text=True, cwd=REPO,
                          timeout=120, env=ENV)
    assert proc.returncode == 0, proc.stderr
    # The last thing written to stdout, the secondary's diff, is there to its last line.
    diff = (tmp_path / "out" / "secondary.diff").read_text()
    assert diff and proc.stdout.endswith(diff)
    events = read_events(tmp_path / "session")
    assert events[-1]["kind"] == "end"   # the session closed: its record is whole


def test_a_reader_that_leaves_early_gets_a_quiet_exit(tmp_path):
    # Its diff is larger than a pipe holds.
    proc = subprocess.Popen(_plan_argv(tmp_path, campus(600)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO, env=ENV)
    proc.stdout.read(100)
    proc.stdout.close()              # `dhcp-wizard plan ... | head -c 100`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_what_asked_to_run_at_exit_still_runs(tmp_path):
    # The fast exit skips atexit handlers: with one registered, the command leaves the usual
    # way, and the handler runs.
    argv = _plan_argv(tmp_path, BASE)
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('handler ran', file=sys.stderr))\n"
            "from wizard.cli import program\n"
            f"sys.argv = ['dhcp-wizard'] + {argv[3:]!r}\n"
            "program()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120, env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert "handler ran" in proc.stderr
