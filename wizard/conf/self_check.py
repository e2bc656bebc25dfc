"""The plan's promise, checked on its own output before it is claimed: both planned configs
lint clean as a pair and, where dhcpd is installed here, `dhcpd -t` accepts each planned
tree (includes and all). Otherwise the plan is refused (exit 2) with located reasons.

Over SSH the apply step validates with the servers' own dhcpd as before; this is the local
check of `plan`, which must never hand out a config that dhcpd or lint would refuse.
"""

from __future__ import annotations

import os
from pathlib import Path

from wizard.conf import tree_out
from wizard.errors import InputError

# The checking machinery (lint, subprocess, tempfile, validate) is imported by check(): the
# benchmark's run without the check, and any import of this module, do without it.

ROLES = ("primary", "secondary")
# Only for timing the plan alone (benchmarks/bench_conf.py); the output then says so.
SKIP_ENV = "DHCP_WIZARD_BENCH_SKIP_SELF_CHECK"


def skipped() -> bool:
    return os.environ.get(SKIP_ENV) == "1"


def started(plan):
    """The check of plan under way (see Check), or, with SKIP_ENV set, its stand-in."""
    return _Skipped() if skipped() else Check(plan)


class _Skipped:
    def __enter__(self) -> "_Skipped":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def verdict(self) -> str:
        return f"# self-check skipped ({SKIP_ENV}=1): output NOT verified"


def check(plan) -> str:
    """Raise InputError unless the plan's output passes; return a line saying what passed."""
    with Check(plan) as running:
        return running.verdict()


class Check:
    """The check under way: entered, it writes both planned trees and starts `dhcpd -t` on
    each, so that the caller's own work (the diffs to print, the session's record) and the
    lint run while the two dhcpd do; verdict() lints, waits for them and judges. Left
    without a verdict (an error, Ctrl+C), the dhcpd runs are killed and their tree removed."""

    def __init__(self, plan):
        from wizard.conf.validate import dhcpd_path

        self.plan = plan
        self.binary = dhcpd_path()
        self._tmp = None
        self._running: dict = {}

    def __enter__(self) -> "Check":
        if self.binary is not None:
            import tempfile

            self._tmp = tempfile.TemporaryDirectory(prefix="dhcp-wizard-check-")
            try:
                _start_trees(self.binary, self.plan, Path(self._tmp.name), "after",
                             self._running)
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    def verdict(self) -> str:
        _lint(self.plan)
        if self.binary is None:
            return "# not checked with dhcpd -t: dhcpd is not installed here"
        running, self._running = self._running, {}
        rejected = _finish(self.plan, running)
        return _verdict(self.binary, self.plan, Path(self._tmp.name), rejected)

    def __exit__(self, *exc) -> None:
        running, self._running = self._running, {}
        for proc, *_ in running.values():
            proc.kill()
            proc.communicate()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _lint(plan) -> None:
    from wizard.conf.lint import lint_pair
    from wizard.conf.model import detach, load
    from wizard.conf.parser import paused_gc

    # One side's syntax tree at a time: each model is detached (records and locations
    # kept, the tree let go) before the next is read; lint judges the two as it would whole.
    # The collector waits: the models have no cycles but hundreds of thousands of objects,
    # and its passes over them cost more than the lint (as in plan_pair).
    with paused_gc():
        configs = [detach(load(plan.main(role).path, tree_out.PlannedLoader(plan.files, role)))
                   for role in ROLES]
        errors = [f for f in lint_pair(*configs) if f.severity == "error"]
        del configs
    if errors:
        lines = [f"{_input_place(plan, f.location)}: {f.message} [{f.id}]" for f in errors]
        raise InputError("the planned configs would not pass `dhcp-wizard lint`:\n  "
                         + "\n  ".join(lines),
                         "fix what each line names in the input configs, then plan again")


def _input_place(plan, location: str) -> str:
    """A location in a planned file, as the line of the input it comes from where the plan
    left that line as it was (else the planned file's line, said so)."""
    from wizard.conf.diff import opcodes

    path, _, line = location.rpartition(":")
    file = next((f for f in plan.files if f.path == path), None)
    if file is None or not line.isdigit():
        return location
    at = int(line) - 1
    a, b = file.before.split("\n"), file.after.split("\n")
    for tag, i1, _, j1, j2 in opcodes(a, b):
        if j1 <= at < j2:
            return f"{path}:{i1 + at - j1 + 1}" if tag == "equal" else \
                f"{path} (line {at + 1} as planned)"
    return location


def _verdict(binary: str, plan, tmp: Path, rejected: dict[str, list[str]]) -> str:
    if not rejected:
        return "# dhcpd -t accepts both planned configs"
    if any(_cannot_open(errs) for errs in rejected.values()):
        # AppArmor keeps dhcpd to /etc/dhcp on Debian and Ubuntu.
        return (f"# not checked with dhcpd -t: the local dhcpd cannot read {tmp} "
                "(AppArmor?); the apply step validates on the servers")
    inputs = _finish(plan, _start_trees(binary, plan, tmp / "inputs", "before"))
    bad_input = [r for r in rejected if r in inputs]
    if bad_input:
        role = bad_input[0]
        raise InputError(f"dhcpd -t rejects the {role}'s current config:\n"
                         + "\n".join(inputs[role]),
                         "fix the statement at the location shown; the wizard plans only "
                         "from configs that dhcpd accepts")
    role = next(iter(rejected))
    raise InputError(f"the planned {role} config would be rejected by dhcpd -t, although the "
                     "current one passes; nothing was written. This is a bug in dhcp-wizard's "
                     "planner, please report it with the inputs:\n" + "\n".join(rejected[role]),
                     "until it is fixed, make the change the plan could not by hand, or "
                     "leave the subnet named below out of failover.pools")


def _start_trees(binary: str, plan, folder: Path, which: str, running: dict | None = None
                 ) -> dict:
    """Write each role's tree under folder and start dhcpd -t on each (both at once), into
    running as they start (so that a failure half-way leaves nothing unaccounted for)."""
    import subprocess

    running = {} if running is None else running
    for role in ROLES:
        places = tree_out.locations(plan.files, role, folder / role)
        tree = tree_out.texts(plan.files, role, places, which)
        tree_out.write(tree)
        main = places[plan.main(role).path]
        # -t only parses: no lease file, no sockets. Never -q: it hides the errors.
        proc = subprocess.Popen([binary, "-4", "-t", "-cf", str(main)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        running[role] = (proc, main, places, tree, getattr(plan.main(role), which))
    return running


def _finish(plan, running: dict) -> dict[str, list[str]]:
    """The located errors of each role whose dhcpd rejected its tree."""
    from wizard.conf.validate import parse_dhcpd_output

    rejected = {}
    for role, (proc, main, places, tree, written) in running.items():
        output, _ = proc.communicate(timeout=600)
        if proc.returncode == 0:
            continue
        text = output.decode("utf-8", "replace")
        # Name the files as the user knows them, not as the scratch tree does.
        for original, copy in sorted(places.items(), key=lambda t: -len(str(t[1]))):
            if copy != main:
                text = text.replace(str(copy.resolve()), original).replace(str(copy), original)
        name = plan.main(role).path
        # The lines shown are the file as the user wrote it, not the scratch copy whose
        # includes point into the scratch tree (the same lines, but for those paths).
        shown = written if written.count("\n") == tree[main].count("\n") else tree[main]
        errors = parse_dhcpd_output(text, str(main), name, shown)
        rejected[role] = errors or [f"{name}: dhcpd -t exited with status {proc.returncode}"]
    return rejected


def _cannot_open(errors: list[str]) -> bool:
    return any("Can't open" in e or "Permission denied" in e for e in errors)
