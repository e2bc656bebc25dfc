"""Helpers of the interruption tests: deploy and drill as processes, read to a phase, and
the checks that both peers serve their old config within the guard's bound."""


from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time


from tests.helpers.apply import fresh
from tests.conftest import REPO
from wizard.remote import guard
from wizard.lab.client import lease
from wizard.lab import lifecycle
ROLES = ("primary", "secondary")


# The guard acts after MISS_LIMIT silent seconds; its rollback restarts dhcpd once (Debian's
# init script takes ~4 s), so each host serves its old config within this bound.
BOUND = guard.MISS_LIMIT + 20


CUT_SECONDS = float(os.environ.get("DHCP_WIZARD_CUT_SECONDS", "30"))


def confs(spec) -> dict[str, str]:
    return {r: (spec.host_dir(r) / "etc-dhcp" / "dhcpd.conf").read_text() for r in ROLES}


def start_deploy(spec, session, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "wizard", "deploy", "--answers", str(spec.answers_path), "--yes",
         "--accept", "ntp", "--no-drill", "--session", str(session), *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        stdin=subprocess.DEVNULL, start_new_session=True)


def read_until(proc: subprocess.Popen, pattern: str, timeout: float = 90) -> str:
    """The output up to the first line matching pattern (the phase to interrupt)."""
    seen = []
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if rx.search(line):
            return "".join(seen)
    proc.kill()
    raise AssertionError(f"never saw {pattern!r}:\n" + "".join(seen)[-3000:])


def wait_serving(spec, texts: dict[str, str], bound: float) -> float:
    """Seconds until both hosts run dhcpd on exactly these configs, their locks free."""
    t0 = time.monotonic()
    while True:
        ok = confs(spec) == texts
        st = lifecycle.status(spec)
        ok = ok and all(st["hosts"][r]["daemons"]["dhcpd"]["running"] for r in ROLES)
        ok = ok and not any((spec.host_dir(r) / "run" / "dhcp-wizard" / "lock").is_symlink()
                            for r in ROLES)
        if ok:
            return time.monotonic() - t0
        if time.monotonic() - t0 > bound:
            raise AssertionError(f"not back on the old config within {bound} s: "
                                 f"{ {r: confs(spec)[r] == texts[r] for r in ROLES} }")
        time.sleep(0.5)


def assert_valid_and_serving(spec) -> None:
    for role in ROLES:
        conf = spec.host_dir(role) / "etc-dhcp" / "dhcpd.conf"
        assert subprocess.run(["dhcpd", "-t", "-cf", str(conf)], capture_output=True).returncode == 0
    got = lease(spec, new_client=True, timeout=15)
    assert got.server in (spec.address("primary"), spec.address("secondary"))


def guard_results(spec) -> dict[str, list[str]]:
    out = {}
    for role in ROLES:
        base = spec.host_dir(role) / "run" / "dhcp-wizard"
        out[role] = [(d / "result").read_text().strip() for d in sorted(base.glob("2*"))
                     if (d / "result").exists()]
    return out


# Where to interrupt: a line of deploy's progress that marks the phase.
PHASES = {
    "prepare": r"primary\s+validated|secondary\s+validated",
    "switch": r"secondary\s+switched|primary\s+switched",
    "restart": r"secondary\s+restarting",
    "wait": r"waiting\s+waiting up to",
    "settle": r"settling",
}


def deployed(spec, tmp_path) -> None:
    fresh(spec)
    proc = start_deploy(spec, tmp_path / "deploy", "--settle", "0")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out[-3000:]


# The drill as `python -m wizard drill`, its return of the shut-down peer held back for a
# few seconds: right after its proof of service the drill puts the peer back within
# milliseconds, and on a busy machine a kill meant for that moment came after it every time
# (ci44). A slow link to the peer looks just the same to the drill's guard.
_SLOW_RETURN = """\
import sys, time
from wizard.ops import drill
real = drill.Drill._restore
def held_back(self, *args, **kwargs):
    time.sleep({seconds})
    return real(self, *args, **kwargs)
drill.Drill._restore = held_back
from wizard.cli import program
sys.argv[0] = "dhcp-wizard"
program()
"""


def start_drill(spec, session, hold_return: float = 0) -> subprocess.Popen:
    """hold_return: seconds the drill waits before it puts a shut-down peer back."""
    run = ["-c", _SLOW_RETURN.format(seconds=hold_return)] if hold_return else ["-m", "wizard"]
    return subprocess.Popen(
        [sys.executable, *run, "drill", "--answers", str(spec.answers_path),
         "--session", str(session)], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, bufsize=1, stdin=subprocess.DEVNULL,
        start_new_session=True)


@contextlib.contextmanager
def clients_probing(spec, what: str):
    """A client asking for an offer every second while the fault runs; prints unanswered
    requests and the longest gap, and checks no gap outlasts the guard's bound."""
    from wizard.lab.continuity import Continuity

    with Continuity(spec, every=1.0) as probe:
        yield probe
    report = probe.report()
    print(f"\n{what}: clients: {report.line()}")
    assert report.longest_gap <= BOUND, report.line()
