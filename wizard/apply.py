"""Push both peers' new configs as one transaction.

prepare (both): upload beside the target, validate with the host's own `dhcpd -t`, back up
config and lease file. Only when both are ready: arm a watchdog on each host, switch both
(atomic rename), restart both together, check the dhcpd process, wait for `normal` on both.
Any failure, or a cancel, rolls both back to the backups and checks they serve again. If the
wizard itself is cut off, the watchdogs put each server back on its old config.
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

from wizard import remote_sh as sh
from wizard.statewatch import Transition, WaitResult, both, wait_for

ROLES = ("primary", "secondary")
RESTART_TIMEOUT = 60.0
# How often, while waiting for normal, both hosts are asked whether dhcpd still runs.
LIVENESS_INTERVAL = 2.0


class Conn(Protocol):
    def run(self, command: str, *, privileged: bool = False, stdin: str | None = None,
            timeout: float = ..., label: str | None = None, record_output: bool = True) -> Any: ...


@dataclass(frozen=True)
class FileChange:
    path: str
    before: str
    after: str


@dataclass
class HostTarget:
    role: str
    conn: Conn
    config_path: str
    lease_path: str
    restart: str
    files: list[FileChange]
    dhcpd: str = "dhcpd"
    # filled in while applying
    stamp: str = ""
    tmp: dict[str, str] = field(default_factory=dict)
    backups: dict[str, str] = field(default_factory=dict)
    lease_backup: str | None = None
    watchdog_pid: int | None = None
    pids_before: set[int] = field(default_factory=set)
    switched: bool = False

    @property
    def marker(self) -> str:
        return f"/tmp/.dhcp-wizard-{self.stamp}-{self.role}.confirmed"


@dataclass
class ApplyResult:
    ok: bool
    phase: str                       # where it ended: done, prepare, restart, normal, cancelled
    reason: str
    rolled_back: bool = False
    hosts: dict[str, dict] = field(default_factory=dict)
    timeline: list[Transition] = field(default_factory=list)
    waited: float | None = None
    notes: list[str] = field(default_factory=list)


class StepFailed(Exception):
    def __init__(self, role: str, what: str, detail: str = ""):
        super().__init__(f"{role}: {what}")
        self.role, self.what, self.detail = role, what, detail


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Transaction:
    def __init__(self, targets: dict[str, HostTarget], *, states_reader: Callable,
                 normal_timeout: float, session=None, progress: Callable[[str, str, str], None]
                 | None = None, cancel: threading.Event | None = None,
                 reconnect: Callable[[str], Conn] | None = None, private: bool = True,
                 log_reader: Callable[[str], str] | None = None):
        self.t = targets
        self.states_reader = states_reader
        self.normal_timeout = normal_timeout
        self.session = session
        self.progress = progress or (lambda role, step, msg: None)
        self.cancel = cancel or threading.Event()
        self.reconnect = reconnect
        self.private = private
        self.log_reader = log_reader
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        for tgt in targets.values():
            tgt.stamp = stamp

    # -- plumbing ----------------------------------------------------------------------
    def _event(self, role: str | None, kind: str, **data) -> None:
        if self.session is not None:
            self.session.event("apply", kind, host=role, **data)

    def _say(self, role: str, step: str, msg: str) -> None:
        self._event(role, step, message=msg)
        self.progress(role, step, msg)

    def _run(self, tgt: HostTarget, command: str, *, stdin: str | None = None,
             timeout: float = 30, label: str = "", reconnect: bool = False):
        try:
            return tgt.conn.run(command, privileged=True, stdin=stdin, timeout=timeout,
                                label=label, record_output=stdin is None)
        except Exception as exc:  # noqa: BLE001 - a lost connection is retried once
            if not (reconnect and self.reconnect):
                raise StepFailed(tgt.role, f"connection lost during {label}", str(exc)) from None
            self._say(tgt.role, "reconnect", f"connection lost ({exc}); reconnecting")
            tgt.conn = self.reconnect(tgt.role)
            return tgt.conn.run(command, privileged=True, stdin=stdin, timeout=timeout,
                                label=label, record_output=stdin is None)

    def _both(self, fn: Callable[[HostTarget], Any]) -> dict[str, Any]:
        """Run fn on both hosts at once; exceptions are returned, not raised."""
        def guarded(tgt):
            try:
                return fn(tgt)
            except Exception as exc:  # noqa: BLE001
                return exc
        with ThreadPoolExecutor(len(self.t)) as pool:
            futures = {role: pool.submit(guarded, tgt) for role, tgt in self.t.items()}
        return {role: f.result() for role, f in futures.items()}

    # -- phases ------------------------------------------------------------------------
    def _prepare(self, tgt: HostTarget) -> None:
        changed = [f for f in tgt.files if f.before != f.after]
        for f in changed:
            current = self._run(tgt, f"cat {sh.q(f.path)}", label="re-read")
            if not current.ok or _sha(current.stdout) != _sha(f.before):
                raise StepFailed(tgt.role, f"{f.path} changed since the plan was made",
                                 "plan again, then apply")
        for f in changed:
            tmp = f"{f.path}.dhcp-wizard-{tgt.stamp}.new"
            res = self._run(tgt, sh.write_like(tmp, f.path, self.private), stdin=f.after,
                            label="upload")
            if not res.ok:
                raise StepFailed(tgt.role, f"could not write {tmp}", res.stderr.strip())
            tgt.tmp[f.path] = tmp
        check = self._validation_copy(tgt, changed)
        res = self._run(tgt, sh.validate(tgt.dhcpd, check), timeout=120, label="dhcpd -t")
        if check not in tgt.tmp.values() and check != tgt.config_path:
            self._run(tgt, f"rm -f {sh.q(check)}", label="cleanup")
        if not res.ok:
            from wizard.conf.validate import parse_dhcpd_output

            main = next((f.after for f in changed if f.path == tgt.config_path), "")
            errors = parse_dhcpd_output(res.stderr + res.stdout, check, tgt.config_path, main)
            raise StepFailed(tgt.role, "its dhcpd rejects the new config",
                             "\n".join(errors) or res.stderr.strip())
        self._say(tgt.role, "validated", f"`dhcpd -t` on {tgt.role} accepts the new config")
        for f in changed:
            bak = f"{f.path}.dhcp-wizard-{tgt.stamp}.bak"
            res = self._run(tgt, sh.backup(f.path, bak, missing_ok=False), label="backup")
            if not res.ok:
                raise StepFailed(tgt.role, f"could not back up {f.path}", res.stderr.strip())
            tgt.backups[f.path] = bak
        lbak = f"{tgt.lease_path}.dhcp-wizard-{tgt.stamp}.bak"
        res = self._run(tgt, sh.backup(tgt.lease_path, lbak, missing_ok=True), label="backup")
        if not res.ok:
            raise StepFailed(tgt.role, f"could not back up {tgt.lease_path}", res.stderr.strip())
        tgt.lease_backup = None if "absent" in res.stdout else lbak
        pids = self._run(tgt, sh.dhcpd_pids(), label="dhcpd pids")
        tgt.pids_before = {int(p) for p in pids.stdout.split() if p.isdigit()}
        self._say(tgt.role, "backed-up", "backups: " + ", ".join(
            [*tgt.backups.values(), *([tgt.lease_backup] if tgt.lease_backup else [])]))

    def _validation_copy(self, tgt: HostTarget, changed: list[FileChange]) -> str:
        """The file to hand to `dhcpd -t`: the new main config, seeing the new includes."""
        main_tmp = tgt.tmp.get(tgt.config_path, tgt.config_path)
        includes = [f for f in changed if f.path != tgt.config_path]
        if not includes:
            return main_tmp
        main = next((f.after for f in tgt.files if f.path == tgt.config_path), None)
        if main is None:
            main = self._run(tgt, f"cat {sh.q(tgt.config_path)}", label="read").stdout
        for f in includes:
            main = main.replace(f'"{f.path}"', f'"{tgt.tmp[f.path]}"')
        check = f"{tgt.config_path}.dhcp-wizard-{tgt.stamp}.check"
        self._run(tgt, sh.write_like(check, tgt.config_path, self.private), stdin=main,
                  label="upload")
        return check

    def _arm_and_switch(self, tgt: HostTarget) -> None:
        restore = [sh.restore(bak, path) for path, bak in tgt.backups.items()]
        seconds = int(2 * RESTART_TIMEOUT + self.normal_timeout + 120)
        res = self._run(tgt, sh.watchdog(seconds, tgt.marker, restore, tgt.restart),
                        label="watchdog")
        if res.ok and res.stdout.strip().isdigit():
            tgt.watchdog_pid = int(res.stdout.strip())
            self._say(tgt.role, "watchdog", f"armed: restores the old config in {seconds} s "
                      "unless the apply completes")
        for path, tmp in tgt.tmp.items():
            res = self._run(tgt, sh.switch(tmp, path), label="switch")
            if not res.ok:
                raise StepFailed(tgt.role, f"could not switch {path}", res.stderr.strip())
            tgt.switched = True
        self._say(tgt.role, "switched", f"{tgt.config_path} is the new config")

    def _restart(self, tgt: HostTarget, reconnect: bool = False) -> None:
        self._say(tgt.role, "restarting", f"`{tgt.restart}`")
        res = self._run(tgt, tgt.restart, timeout=RESTART_TIMEOUT, label="restart",
                        reconnect=reconnect)
        # Check the process, not the init script's word: Debian's script reports failure
        # when INTERFACESv4 is empty although dhcpd -4 runs.
        deadline = time.monotonic() + 10
        while True:
            pids = self._run(tgt, sh.dhcpd_pids(), label="dhcpd pids", reconnect=reconnect)
            now = {int(p) for p in pids.stdout.split() if p.isdigit()}
            if now and now != tgt.pids_before:
                break
            if time.monotonic() > deadline:
                raise StepFailed(tgt.role, "dhcpd is not running after the restart",
                                 (res.stdout + res.stderr).strip()[-800:])
            time.sleep(0.3)
        tgt.pids_before = now
        note = "" if res.ok else f" (the restart command exited {res.exit_code}, but dhcpd runs)"
        self._say(tgt.role, "restarted", f"dhcpd runs as pid {', '.join(map(str, sorted(now)))}"
                  + note)

    def _confirm(self, tgt: HostTarget) -> None:
        if tgt.watchdog_pid:
            self._run(tgt, sh.cancel_watchdog(tgt.watchdog_pid, tgt.marker), label="watchdog",
                      reconnect=True)
            tgt.watchdog_pid = None

    def _cleanup_tmp(self, tgt: HostTarget) -> None:
        left = [t for p, t in tgt.tmp.items()]
        if left and not tgt.switched:
            self._run(tgt, "rm -f " + " ".join(sh.q(t) for t in left), label="cleanup")

    def _rollback(self, tgt: HostTarget) -> dict:
        out = {"restored": False, "running": False}
        self._confirm(tgt)
        for path, bak in tgt.backups.items():
            res = self._run(tgt, sh.restore(bak, path), label="restore", reconnect=True)
            if not res.ok:
                raise StepFailed(tgt.role, f"could not restore {path}", res.stderr.strip())
        out["restored"] = True
        self._say(tgt.role, "restored", "old config back in place")
        try:
            self._restart(tgt, reconnect=True)
        except StepFailed:
            if not tgt.lease_backup:
                raise
            # Lease state written under the failover config can stop the old config from
            # starting; the backup is from just before the switch.
            self._run(tgt, sh.restore(tgt.lease_backup, tgt.lease_path), label="restore",
                      reconnect=True)
            self._say(tgt.role, "restored", "lease file restored from the backup as well")
            self._restart(tgt, reconnect=True)
        out["running"] = True
        for f in tgt.files:
            cur = self._run(tgt, f"cat {sh.q(f.path)}", label="verify", reconnect=True)
            if _sha(cur.stdout) != _sha(f.before):
                raise StepFailed(tgt.role, f"{f.path} is not the old config after the rollback")
        valid = self._run(tgt, sh.validate(tgt.dhcpd, tgt.config_path), timeout=120,
                          label="dhcpd -t", reconnect=True)
        out["valid"] = valid.ok
        return out

    # -- the transaction ---------------------------------------------------------------
    def run(self) -> ApplyResult:
        if not any(f.before != f.after for t in self.t.values() for f in t.files):
            self._event(None, "no-op", message="both configs are already as planned")
            return ApplyResult(True, "done", "nothing to change: both configs are as planned")
        prepared = self._both(self._prepare)
        failed = {r: e for r, e in prepared.items() if isinstance(e, Exception)}
        if failed or self.cancel.is_set():
            self._both(self._cleanup_tmp)
            reason = "cancelled before anything was switched" if not failed else _reasons(failed)
            self._event(None, "aborted", phase="prepare", reason=reason)
            return ApplyResult(False, "prepare" if failed else "cancelled",
                               reason + "; nothing was switched, both servers run as before",
                               hosts=_details(failed))
        self._event(None, "prepared", message="both configs validated and backed up")

        phase, reason, result_wait = "switch", "", None
        try:
            switched = self._both(self._arm_and_switch)
            failed = {r: e for r, e in switched.items() if isinstance(e, Exception)}
            if failed:
                raise _Abort("switch", _reasons(failed))
            phase = "restart"
            result_wait = self._restart_and_watch()
            phase = "normal"
            if result_wait.cancelled:
                raise _Abort("cancelled", "cancelled by the operator")
            if not result_wait.ok:
                raise _Abort("normal", self._not_normal_reason(result_wait))
        except _Abort as abort:
            phase, reason = abort.phase, abort.reason
        if not reason:
            self._both(self._confirm)
            self._event(None, "committed", waited=result_wait.waited if result_wait else None)
            return ApplyResult(True, "done", "both peers are normal on the new config",
                               timeline=result_wait.timeline, waited=result_wait.waited)
        self._say("pair", "rollback", f"rolling both back: {reason}")
        rolled = self._both(self._rollback)
        bad = {r: e for r, e in rolled.items() if isinstance(e, Exception)}
        notes = []
        for role, exc in bad.items():
            notes.append(f"{role}: rollback incomplete ({exc}); its watchdog restores the "
                         "old config by itself if the wizard could not")
        self._event(None, "rolled-back", phase=phase, reason=reason, incomplete=list(bad))
        return ApplyResult(False, phase, reason, rolled_back=not bad,
                           hosts={r: (v if not isinstance(v, Exception) else {"error": str(v)})
                                  for r, v in rolled.items()},
                           timeline=result_wait.timeline if result_wait else [],
                           waited=result_wait.waited if result_wait else None, notes=notes)

    def _restart_and_watch(self) -> WaitResult:
        """Restart both and watch OMAPI from the first moment, not after the init scripts
        return: they sleep, and the pair is often normal before they do."""
        stop = threading.Event()
        box: dict[str, WaitResult] = {}

        def watch() -> None:
            box["r"] = wait_for(self.states_reader, both("normal"),
                                RESTART_TIMEOUT + self.normal_timeout, interval=0.1,
                                cancel=stop, on_transition=self._on_transition)

        watcher = threading.Thread(target=watch, name="apply-watch", daemon=True)
        watcher.start()
        try:
            restarted = self._both(self._restart)
            failed = {r: e for r, e in restarted.items() if isinstance(e, Exception)}
            if failed:
                raise _Abort("restart", _reasons(failed))
            self._say("pair", "waiting", f"waiting up to {self.normal_timeout:.0f} s for both "
                      "peers to reach normal")
            deadline = time.monotonic() + self.normal_timeout
            next_look = time.monotonic() + LIVENESS_INTERVAL
            while watcher.is_alive() and time.monotonic() < deadline:
                if self.cancel.is_set():
                    break
                watcher.join(0.05)
                if time.monotonic() >= next_look:
                    self._abort_if_dhcpd_died()
                    next_look = time.monotonic() + LIVENESS_INTERVAL
        finally:
            stop.set()
            watcher.join()
        result = box["r"]
        # `stop` also ends the watcher at the deadline: only the operator's cancel counts.
        result.cancelled = self.cancel.is_set() and not result.ok
        return result

    def _abort_if_dhcpd_died(self) -> None:
        """A dhcpd that starts and then exits (an interface without a subnet, a failover
        address it cannot bind) would otherwise be waited for until the deadline, with the
        network served by one server meanwhile; roll back now, and say why."""
        dead = {}
        for role, tgt in self.t.items():
            try:
                pids = self._run(tgt, sh.dhcpd_pids(), label="dhcpd pids", timeout=5)
            except StepFailed:
                continue  # a lost connection is not a dead dhcpd; the deadline still holds
            if pids.ok and not pids.stdout.split():
                dead[role] = self._log_tail(role)
        if dead:
            raise _Abort("restart", "; ".join(
                f"{role}: dhcpd is not running after the restart (it started, then exited)"
                + (f"; its log ends: {tail}" if tail else "") for role, tail in dead.items()))

    def _log(self, role: str) -> str:
        """The host's dhcpd log, or "" when there is no reader or it fails."""
        if not self.log_reader:
            return ""
        try:
            return self.log_reader(role)
        except Exception:  # noqa: BLE001 - the log is a hint, not a requirement
            return ""

    def _log_tail(self, role: str, lines: int = 3) -> str:
        text = self._log(role)
        return " | ".join([line.strip() for line in text.splitlines() if line.strip()][-lines:])

    def _on_transition(self, tr: Transition) -> None:
        if tr.after == "unreadable" and tr.before in ("(start)", "unreadable"):
            # Before the new config runs there is no OMAPI to answer: say so, calmly.
            tr = replace(tr, explanation="no OMAPI answer yet; expected while dhcpd restarts "
                         f"({tr.explanation})")
        self._event(tr.role, "state", before=tr.before, after=tr.after,
                    partner=tr.partner_state, at=tr.t)
        self.progress(tr.role, "state", f"{tr.before} -> {tr.after}: {tr.explanation}")

    def _not_normal_reason(self, waited: WaitResult) -> str:
        from wizard.statewatch import diagnose, log_hints

        notes = diagnose(waited.last, None)
        for role in self.t:
            notes += [f"{role}: {h}" for h in log_hints(self._log(role))]
        states = ", ".join(f"{r} {s}" for r, s in waited.states().items())
        return (f"the pair did not reach normal within {waited.waited:.0f} s ({states})"
                + ("; " + " ".join(notes) if notes else ""))


class _Abort(Exception):
    def __init__(self, phase: str, reason: str):
        super().__init__(reason)
        self.phase, self.reason = phase, reason


def _reasons(failed: dict[str, Exception]) -> str:
    parts = []
    for role, exc in failed.items():
        if isinstance(exc, StepFailed):
            parts.append(f"{exc}" + (f":\n{exc.detail}" if exc.detail else ""))
        else:
            parts.append(f"{role}: {exc}")
    return "; ".join(parts)


def _details(failed: dict[str, Exception]) -> dict[str, dict]:
    return {r: {"error": str(e), "detail": getattr(e, "detail", "")} for r, e in failed.items()}
