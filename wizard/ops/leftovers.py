"""What earlier runs left on a host, and what a new run does about it.

An earlier run may have been killed, interrupted or cut off. Before a new run changes
anything it must say what it finds: a run still in progress (refuse), a run whose guard is
finishing it alone (wait for it), a guard that died unfinished (a reboot), uploads and
restore copies nobody owns (remove), backups (keep, list), and the timed watchdogs of
dhcp-wizard releases before the guard (cancel: they would silently restore an old config
minutes later).
"""

from __future__ import annotations

import posixpath
import re
import shlex
import time
from dataclasses import dataclass, field

from wizard.remote import guard

q = shlex.quote
# A pre-guard watchdog: `sleep N; if [ ! -e /tmp/.dhcp-wizard-STAMP-ROLE.confirmed ]; ...`
_OLD_WATCHDOG = re.compile(r"(/tmp/\.dhcp-wizard-[\w.-]+\.confirmed)")
KEEP_RUNS = 20


@dataclass
class Run:
    stamp: str
    alive: bool
    phase: str
    decided: str
    result: str
    miss: int
    owner: guard.Owner | None

    @property
    def state(self) -> str:
        if self.alive and self.miss < 3:
            return "active"
        if self.alive:
            return "finishing"       # its wizard is silent: the guard acts on its own
        if not self.result:
            return "dead"            # the guard vanished unfinished (reboot, killed)
        return "finished"


@dataclass
class HostLeftovers:
    role: str
    runs: list[Run] = field(default_factory=list)
    stray: list[str] = field(default_factory=list)       # uploads and restore copies
    backups: list[str] = field(default_factory=list)
    old_watchdogs: list[tuple[int, str]] = field(default_factory=list)  # pid, marker

    def active(self) -> list[Run]:
        return [r for r in self.runs if r.state == "active"]

    def finishing(self) -> list[Run]:
        return [r for r in self.runs if r.state == "finishing"]

    def dead(self) -> list[Run]:
        return [r for r in self.runs if r.state == "dead"]

    def findings(self) -> list[tuple[str, str]]:
        """(status, sentence) for each thing found; status pass/warn/fail as checks use."""
        out: list[tuple[str, str]] = []
        for r in self.active():
            who = _who(r)
            out.append(("fail", f"{self.role}: another dhcp-wizard run is changing this server "
                        f"now ({who}, phase {r.phase}); a new run waits for it to end"))
        for r in self.finishing():
            left = max(0, guard.MISS_LIMIT - r.miss)
            out.append(("warn", f"{self.role}: an interrupted run ({_who(r)}, phase {r.phase}) "
                        f"is being finished by its guard, which "
                        + ("restores the old config" if r.phase == "armed" else
                           "removes its uploads") + f" within about {left + 10} s; a new run "
                        "waits for it"))
        for r in self.dead():
            out.append(("warn", f"{self.role}: an earlier run's guard ended without finishing "
                        f"({_who(r)}, phase {r.phase}, decision {r.decided or 'none'}), e.g. "
                        "through a reboot; the config it left is what the server runs now, "
                        "and its backups are kept"))
        if self.old_watchdogs:
            out.append(("warn", f"{self.role}: {len(self.old_watchdogs)} timed watchdog(s) of an "
                        "older dhcp-wizard are armed and would restore an old config later; "
                        "a new run cancels them"))
        if self.stray:
            out.append(("warn", f"{self.role}: files left by an interrupted run: "
                        + ", ".join(self.stray) + "; a new run removes them"))
        if self.backups:
            out.append(("pass", f"{self.role}: {len(self.backups)} backup(s) of earlier runs are "
                        f"kept, the newest {self.backups[-1]}"))
        return out


def _who(r: Run) -> str:
    o = r.owner
    if o is None:
        return f"run {r.stamp}"
    return f"{o.command} by {o.user}@{o.host} pid {o.pid}, started {r.stamp[:15]}"


def scan_command(dirs: list[str]) -> str:
    base = guard.BASE
    globs = " ".join(f"{q(d)}/*.dhcp-wizard-*" for d in dict.fromkeys(dirs))
    return "\n".join([
        f"for d in {q(base)}/2*; do [ -d \"$d\" ] || continue; p=$(cat \"$d/guard.pid\" "
        "2>/dev/null); a=no; [ -n \"$p\" ] && kill -0 \"$p\" 2>/dev/null && a=yes; "
        "printf 'run\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' \"$(basename \"$d\")\" \"$a\" "
        "\"$(cat \"$d/phase\" 2>/dev/null)\" \"$(readlink \"$d/decided\" 2>/dev/null)\" "
        "\"$(head -n 1 \"$d/result\" 2>/dev/null)\" \"$(cat \"$d/miss\" 2>/dev/null)\" "
        "\"$(cat \"$d/owner\" 2>/dev/null)\"; done",
        f"for f in {globs}; do [ -e \"$f\" ] && printf 'file\\t%s\\n' \"$f\"; done",
        "ps -eo pid=,args= 2>/dev/null | grep '[.]dhcp-wizard-.*confirmed' | "
        "sed 's/^ */watchdog\\t/'",
        "true",
    ])


def parse(role: str, text: str) -> HostLeftovers:
    found = HostLeftovers(role)
    live_stamps = set()
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "run":
            parts = rest.split("\t")
            parts += [""] * (7 - len(parts))
            stamp, alive, phase, decided, result, miss, owner = parts[:7]
            run = Run(stamp, alive == "yes", phase, decided, result,
                      int(miss) if miss.isdigit() else 0, guard.Owner.parse(owner))
            found.runs.append(run)
            if run.state in ("active", "finishing"):
                live_stamps.add(stamp)
        elif kind == "file":
            path = rest.strip()
            if path.endswith(".bak"):
                found.backups.append(path)
            else:
                found.stray.append(path)
        elif kind == "watchdog":
            pid, _, args = rest.strip().partition(" ")
            m = _OLD_WATCHDOG.search(args)
            if pid.isdigit() and m and "sleep" in args:
                found.old_watchdogs.append((int(pid), m.group(1)))
    # Uploads of a run in progress are its own, not leftovers.
    found.stray = [p for p in found.stray if not any(s in p for s in live_stamps)]
    found.backups.sort()
    return found


def scan(conn, role: str, config_path: str | None, lease_path: str | None) -> HostLeftovers:
    dirs = [posixpath.dirname(p) for p in (config_path, lease_path) if p]
    res = conn.run(scan_command(dirs or ["/etc/dhcp"]), privileged=True, timeout=15,
                   label="leftovers")
    return parse(role, res.stdout)


def clean_command(found: HostLeftovers) -> str | None:
    """Remove stray files, cancel old watchdogs, prune finished run records."""
    parts = []
    for pid, marker in found.old_watchdogs:
        # The marker first: should the kill miss, the timer still finds it and does nothing.
        parts.append(f"touch {q(marker)}; kill -- -{pid} 2>/dev/null || kill {pid} 2>/dev/null")
    if found.stray:
        parts.append("rm -f -- " + " ".join(q(p) for p in found.stray))
    finished = sorted(r.stamp for r in found.runs if r.state == "finished")
    for stamp in finished[:-KEEP_RUNS] if len(finished) > KEEP_RUNS else []:
        parts.append(f"rm -rf -- {q(guard.run_dir(stamp))}")
    return "; ".join(parts) + "; true" if parts else None


def settle_before_change(conns: dict, paths: dict, say, cancel=None,
                         timeout: float = guard.MISS_LIMIT + 200) -> dict[str, HostLeftovers]:
    """Before a run changes anything: report what earlier runs left, wait for runs that their
    guards are finishing, clean up what nobody owns. Raises OperationFailed when another run
    is active."""
    from wizard.errors import OperationFailed

    found = {r: scan(c, r, *paths[r]) for r, c in conns.items()}
    for role, f in found.items():
        for status, sentence in f.findings():
            if status != "pass":
                say(role, "leftovers", sentence)
    active = [(r, run) for r, f in found.items() for run in f.active()]
    if active:
        role, run = active[0]
        raise OperationFailed(f"{role}: another dhcp-wizard run is changing this server now "
                              f"({_who(run)})", "wait for it to finish, then run again; "
                              "`dhcp-wizard check` shows its state")
    deadline = time.monotonic() + timeout
    while any(f.finishing() for f in found.values()):
        if time.monotonic() > deadline:
            raise OperationFailed("an earlier run's guard has not finished in time",
                                  "look at /var/run/dhcp-wizard on the servers")
        if cancel is not None and cancel.is_set():
            raise OperationFailed("cancelled while waiting for an earlier run's guard")
        say("pair", "leftovers", "waiting for the earlier run's guard to finish")
        time.sleep(2)
        found = {r: scan(c, r, *paths[r]) for r, c in conns.items()}
    close_orphaned_sessions(found, say)
    for role, f in found.items():
        cmd = clean_command(f)
        if cmd:
            conns[role].run(cmd, privileged=True, timeout=15, label="leftovers cleanup")
            say(role, "leftovers", "removed what an earlier run left (listed above)")
    return found


def close_orphaned_sessions(found: dict[str, HostLeftovers], say=None) -> list[str]:
    """A wizard killed mid-run never wrote its session's end. When that run was ours (this
    host) and its process is gone, end its record now, saying who wrote the end and what the
    guards did, so its report never reads as a run still going or one that succeeded."""
    import json
    import os
    import socket
    from pathlib import Path

    from wizard.record.session import Session

    me = socket.gethostname()
    guards: dict[str, dict[str, str]] = {}
    owners: dict[str, guard.Owner] = {}
    for role, f in found.items():
        for r in f.runs:
            if r.owner is None or r.owner.host != me or r.owner.session in ("", "-", "?"):
                continue
            owners[r.owner.session] = r.owner
            guards.setdefault(r.owner.session, {})[role] = r.result or r.state
    closed = []
    for path, o in owners.items():
        events = Path(path) / "events.jsonl"
        if o.pid == os.getpid() or _alive(o.pid) or not events.is_file():
            continue
        try:
            lines = events.read_bytes().splitlines()
            last = json.loads(lines[-1]) if lines else {}
        except (OSError, ValueError):
            continue
        if last.get("step") == "session" and last.get("kind") == "end":
            continue
        session = Session(Path(path))
        session.close("killed", exit_code=None, guards=guards[path],
                      note=f"pid {o.pid} ended without closing this session; this end was "
                      f"written by the next run (pid {os.getpid()}) from what the servers' "
                      "guards report")
        closed.append(path)
        if say:
            say("pair", "leftovers", f"the session of the killed run ({path}) now ends with "
                "what its guards did")
    return closed


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
