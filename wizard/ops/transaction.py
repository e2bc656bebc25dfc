"""Push both peers' new configs as one transaction.

lock (both): take each host's lock and start its guard (wizard.remote.guard), which from then on
finishes the change alone if the wizard disappears. prepare (both): upload beside the target,
validate with the host's own `dhcpd -t`, back up config and lease file. Only when both are
ready: arm both guards, switch both (atomic rename), restart both together (detached, so a
restart always completes), watch OMAPI from the first second, wait for `normal` on both, let
the pair settle, commit. Any failure, an interruption or a lost host rolls both back; the
rollback itself is carried out by the guards and then verified.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Protocol

from wizard.remote import guard
from wizard.remote import shell as sh
from wizard.ops.statewatch import Transition, WaitResult, both, wait_for

RESTART_TIMEOUT = 60.0
# Normal on both is not yet a success: the pool rebalance runs on entering normal, the lease
# file is rewritten, and a dhcpd that dies of its new config (a listener it cannot keep, a
# lease it cannot write) does so in its first seconds. 10 s covers those and more than one
# CONTACT interval at the default max-response-delay (20 s / 3).
SETTLE = 10.0
POLL = 0.5


class Conn(Protocol):
    def run(self, command: str, *, privileged: bool = False, stdin: str | None = None,
            timeout: float = ..., label: str | None = None, record_output: bool = True,
            quiet: bool = False) -> Any: ...


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
    locked: bool = False
    tmp: dict[str, str] = field(default_factory=dict)
    backups: dict[str, str] = field(default_factory=dict)
    lease_backup: str | None = None
    pids_before: set[int] = field(default_factory=set)
    switched: bool = False
    decided: str = ""
    restarted: bool = False
    last_beat: float = 0.0
    guard_acted: str = ""           # the guard's own decision, if it made one
    guard_result: str = ""
    lost: bool = False              # unreachable: its guard is on its own


@dataclass
class ApplyResult:
    ok: bool
    phase: str          # where it ended: done, lock, prepare, switch, restart, normal, settle,
    reason: str         # cancelled, interrupted
    rolled_back: bool = False
    hosts: dict[str, dict] = field(default_factory=dict)
    timeline: list[Transition] = field(default_factory=list)
    waited: float | None = None
    notes: list[str] = field(default_factory=list)
    changed: bool = True    # False: the servers already ran the plan; only normal was awaited


class StepFailed(Exception):
    def __init__(self, role: str, what: str, detail: str = ""):
        super().__init__(f"{role}: {what}")
        self.role, self.what, self.detail = role, what, detail


class _Abort(Exception):
    def __init__(self, phase: str, reason: str):
        super().__init__(reason)
        self.phase, self.reason = phase, reason


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_stamp() -> str:
    """Unique per run: two runs started in the same second never share a file name."""
    return (time.strftime("%Y%m%dT%H%M%S", time.gmtime()) +
            f"-{os.getpid()}-{secrets.token_hex(2)}")


def owner(stamp: str, command: str, session) -> guard.Owner:
    import getpass

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name is not a reason to refuse
        user = "?"
    return guard.Owner(os.getpid(), socket.gethostname(), user, command or "apply",
                       str(getattr(session, "path", "-")), stamp)


class Transaction:
    def __init__(self, targets: dict[str, HostTarget], *, states_reader: Callable,
                 normal_timeout: float, session=None, progress: Callable[[str, str, str], None]
                 | None = None, cancel: threading.Event | None = None,
                 reconnect: Callable[[str], Conn] | None = None, private: bool = True,
                 log_reader: Callable[[str], str] | None = None, settle: float = SETTLE,
                 max_response_delay: int = 20, expect_failover: bool = True,
                 command: str = "apply", miss_limit: int = guard.MISS_LIMIT):
        self.t = targets
        self.states_reader = states_reader
        self.normal_timeout = normal_timeout
        self.session = session
        self.progress = progress or (lambda role, step, msg: None)
        self.cancel = cancel or threading.Event()
        self.reconnect = reconnect
        self.private = private
        self.log_reader = log_reader
        self.settle = settle
        self.mrd = max_response_delay
        self._restarted = threading.Event()     # both new dhcpd processes run (a restart)
        self.expect_failover = expect_failover
        self.miss_limit = miss_limit
        # Beyond this many seconds without a successful heartbeat the host's guard will have
        # acted (or is about to): treat the host as lost and roll the other one back too.
        self.lost_after = max(3, miss_limit - 3)
        self.stamp = new_stamp()
        self.owner = owner(self.stamp, command, session)
        self._beat_stop = threading.Event()
        self._beat_thread: threading.Thread | None = None
        for tgt in targets.values():
            tgt.stamp = self.stamp

    # -- plumbing ----------------------------------------------------------------------
    def _event(self, role: str | None, kind: str, **data) -> None:
        if self.session is not None:
            self.session.event("apply", kind, host=role, **data)

    def _say(self, role: str, step: str, msg: str) -> None:
        self._event(role, step, message=msg)
        self.progress(role, step, msg)

    def _run(self, tgt: HostTarget, command: str, *, stdin: str | None = None,
             timeout: float = 30, label: str = "", reconnect: bool = False,
             quiet: bool = False):
        try:
            res = tgt.conn.run(command, privileged=True, stdin=stdin, timeout=timeout,
                               label=label, record_output=stdin is None, quiet=quiet)
            if getattr(res, "timed_out", False):
                raise StepFailed(tgt.role, f"no answer within {timeout:g} s ({_what(label)})",
                                 "the host or the link to it may be down")
            return res
        except StepFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - a lost connection is retried once
            if not (reconnect and self.reconnect):
                raise StepFailed(tgt.role, f"the SSH connection was lost ({_what(label)})",
                                 str(exc)) from None
            self._say(tgt.role, "reconnect", f"connection lost ({exc}); reconnecting")
            try:
                tgt.conn = self.reconnect(tgt.role)
                return tgt.conn.run(command, privileged=True, stdin=stdin, timeout=timeout,
                                    label=label, record_output=stdin is None, quiet=quiet)
            except Exception as again:  # noqa: BLE001
                raise StepFailed(tgt.role, f"the SSH connection was lost ({_what(label)}) "
                                 "and could not be reopened", str(again)) from None

    def _both(self, fn: Callable[[HostTarget], Any], only=None) -> dict[str, Any]:
        """Run fn on the hosts at once; exceptions are returned, not raised."""
        def guarded(tgt):
            try:
                return fn(tgt)
            except Exception as exc:  # noqa: BLE001
                return exc
        chosen = [t for r, t in self.t.items() if only is None or r in only]
        with ThreadPoolExecutor(max(1, len(chosen))) as pool:
            futures = {tgt.role: pool.submit(guarded, tgt) for tgt in chosen}
        return {role: f.result() for role, f in futures.items()}

    def _check_cancel(self, phase: str) -> None:
        if self.cancel.is_set():
            why = getattr(self.cancel, "reason", "") or "cancelled by the operator"
            self._event(None, "interrupted", phase=phase, reason=why)
            raise _Abort(getattr(self.cancel, "phase", "") or "cancelled", f"{why} ({phase})")

    # -- heartbeat ---------------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        self._beat_stop.clear()
        self._beat_thread = threading.Thread(target=self._beat, name="apply-heartbeat",
                                             daemon=True)
        self._beat_thread.start()

    def _stop_heartbeat(self) -> None:
        self._beat_stop.set()
        if self._beat_thread is not None:
            self._beat_thread.join(timeout=10)

    def _beat(self) -> None:
        while not self._beat_stop.is_set():
            for tgt in self.t.values():
                if not tgt.locked or tgt.decided or tgt.guard_acted:
                    continue
                try:
                    res = tgt.conn.run(guard.heartbeat(tgt.stamp), privileged=True, timeout=5,
                                       label="heartbeat", quiet=True)
                except Exception:  # noqa: BLE001 - counted by last_beat; reconnect below
                    if self.reconnect and time.monotonic() - tgt.last_beat > 4:
                        try:
                            tgt.conn = self.reconnect(tgt.role)
                        except Exception:  # noqa: BLE001 - tried again next beat
                            pass
                    continue
                if res.ok:
                    tgt.last_beat = time.monotonic()
                elif res.exit_code == 1:
                    tgt.guard_acted = self._decision(tgt) or "rollback-heartbeat-lost"
            self._beat_stop.wait(guard.HEARTBEAT)

    def _decision(self, tgt: HostTarget) -> str:
        try:
            res = tgt.conn.run(f"readlink {sh.q(guard.run_dir(tgt.stamp))}/decided",
                               privileged=True, timeout=5, label="guard", quiet=True)
            return res.stdout.strip()
        except Exception:  # noqa: BLE001
            return ""

    def _health(self) -> None:
        """Raise when a host is lost to us or its guard acted on its own."""
        now = time.monotonic()
        for tgt in self.t.values():
            if tgt.guard_acted:
                raise _Abort("lost", f"{tgt.role}: its guard rolled it back by itself "
                             f"({tgt.guard_acted}): the wizard lost contact with it")
            if tgt.locked and not tgt.decided and now - tgt.last_beat > self.lost_after:
                tgt.lost = True
                raise _Abort("lost", f"{tgt.role}: no contact over SSH for "
                             f"{now - tgt.last_beat:.0f} s; its guard restores its old config "
                             "by itself")

    # -- phases ------------------------------------------------------------------------
    def _lock(self, tgt: HostTarget) -> None:
        res = self._run(tgt, guard.acquire(tgt.stamp, self.owner, tgt.restart,
                                           self.miss_limit),
                        stdin=guard.SCRIPT, label="lock")
        out = res.stdout.strip()
        if out.startswith("held"):
            raise StepFailed(tgt.role, "another dhcp-wizard run holds this server's lock",
                             _holder(out))
        if not res.ok or not out.endswith("locked"):
            raise StepFailed(tgt.role, "could not take the lock on this server",
                             (res.stderr or res.stdout).strip()[-400:])
        tgt.locked = True
        tgt.last_beat = time.monotonic()
        self._event(tgt.role, "locked", stamp=tgt.stamp, guard=guard.run_dir(tgt.stamp))

    def _prepare(self, tgt: HostTarget) -> None:
        changed = [f for f in tgt.files if f.before != f.after]
        for f in changed:
            current = self._run(tgt, f"cat {sh.q(f.path)}", label="re-read")
            if not current.ok or _sha(current.stdout) != _sha(f.before):
                raise StepFailed(tgt.role, f"{f.path} changed since the plan was made",
                                 "plan again, then apply")
        for f in changed:
            self._check_cancel("prepare")
            tmp = f"{f.path}.dhcp-wizard-{tgt.stamp}.new"
            self._run(tgt, guard.add_tmp(tgt.stamp, tmp), label="upload")
            tgt.tmp[f.path] = tmp
            res = self._run(tgt, sh.write_like(tmp, f.path, self.private), stdin=f.after,
                            label="upload")
            if not res.ok:
                raise StepFailed(tgt.role, f"could not write {tmp}", _disk(res.stderr))
        self._check_cancel("prepare")
        check = self._validation_copy(tgt, changed)
        res = self._run(tgt, sh.validate(tgt.dhcpd, check), timeout=120, label="dhcpd -t")
        if not res.ok:
            from wizard.conf.validate import parse_dhcpd_output

            main = next((f.after for f in changed if f.path == tgt.config_path), "")
            errors = parse_dhcpd_output(res.stderr + res.stdout, check, tgt.config_path, main)
            raise StepFailed(tgt.role, "its dhcpd rejects the new config",
                             "\n".join(errors) or res.stderr.strip())
        self._say(tgt.role, "validated", f"`dhcpd -t` on {tgt.role} accepts the new config")
        self._check_cancel("prepare")
        for f in changed:
            bak = f"{f.path}.dhcp-wizard-{tgt.stamp}.bak"
            res = self._run(tgt, sh.backup(f.path, bak, missing_ok=False), label="backup")
            if not res.ok:
                raise StepFailed(tgt.role, f"could not back up {f.path}", _disk(res.stderr))
            tgt.backups[f.path] = bak
        lbak = f"{tgt.lease_path}.dhcp-wizard-{tgt.stamp}.bak"
        res = self._run(tgt, sh.backup(tgt.lease_path, lbak, missing_ok=True), label="backup")
        if not res.ok:
            raise StepFailed(tgt.role, f"could not back up {tgt.lease_path}", _disk(res.stderr))
        tgt.lease_backup = None if "absent" in res.stdout else lbak
        pids = self._run(tgt, sh.dhcpd_pids(), label="dhcpd pids")
        tgt.pids_before = guard.pid_set(pids.stdout)
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
        self._run(tgt, guard.add_tmp(tgt.stamp, check), label="upload")
        res = self._run(tgt, sh.write_like(check, tgt.config_path, self.private), stdin=main,
                        label="upload")
        if not res.ok:
            raise StepFailed(tgt.role, f"could not write {check}", _disk(res.stderr))
        return check

    def _arm(self, tgt: HostTarget) -> None:
        lease = (tgt.lease_backup, tgt.lease_path) if tgt.lease_backup else None
        res = self._run(tgt, guard.arm(tgt.stamp, [(b, p) for p, b in tgt.backups.items()],
                                       lease), label="arm")
        if not res.ok:
            raise StepFailed(tgt.role, "could not arm its guard", res.stderr.strip())

    def _arm_and_switch(self, tgt: HostTarget) -> None:
        self._arm(tgt)
        self._say(tgt.role, "armed", f"its guard restores the old config if the wizard is "
                  f"silent for {self.miss_limit} s or decides to roll back")
        for path, tmp in tgt.tmp.items():
            if tmp.endswith(".check"):
                continue
            res = self._run(tgt, sh.switch(tmp, path), label="switch")
            if not res.ok:
                raise StepFailed(tgt.role, f"could not switch {path}", res.stderr.strip())
            tgt.switched = True
        self._say(tgt.role, "switched", f"{tgt.config_path} is the new config")

    def _start_restart(self, tgt: HostTarget) -> None:
        self._say(tgt.role, "restarting", f"`{tgt.restart}` (detached: it completes even if "
                  "the wizard is cut off)")
        res = self._run(tgt, guard.restart_detached(tgt.stamp), label="restart", timeout=10)
        if not res.ok:
            raise StepFailed(tgt.role, "could not start the restart", res.stderr.strip())

    def _restart_status(self, tgt: HostTarget) -> tuple[str, int | None, set[int], str]:
        # No reconnect here: the heartbeat reconnects, and a lost host ends in _health.
        res = self._run(tgt, guard.restart_status(tgt.stamp), label="restart status",
                        timeout=5, quiet=True)
        return guard.parse_restart_status(res.stdout)

    # -- the transaction ---------------------------------------------------------------
    def run(self) -> ApplyResult:
        if not any(f.before != f.after for t in self.t.values() for f in t.files):
            self._event(None, "no-op", message="both configs are already as planned")
            return ApplyResult(True, "done", "nothing to change: both configs are as planned")
        try:
            return self._run_locked()
        finally:
            self._stop_heartbeat()

    def _run_locked(self) -> ApplyResult:
        locked = self._both(self._lock)
        failed = {r: e for r, e in locked.items() if isinstance(e, Exception)}
        self._start_heartbeat()
        if failed:
            self._finish_all("abort-lock")
            reason = _reasons(failed)
            self._event(None, "aborted", phase="lock", reason=reason)
            return ApplyResult(False, "lock", reason + "; nothing was changed",
                               hosts=_details(failed))
        prepared = self._both(self._prepare)
        failed = {r: e for r, e in prepared.items() if isinstance(e, Exception)}
        cancelled = self.cancel.is_set() or any(
            isinstance(e, _Abort) for e in failed.values())
        if failed or cancelled:
            self._finish_all("abort")
            if cancelled:
                reason = (getattr(self.cancel, "reason", "") or "cancelled by the operator") + \
                    " before anything was switched"
            else:
                reason = _reasons(failed)
            phase = "cancelled" if cancelled else "prepare"
            self._event(None, "aborted", phase=phase, reason=reason)
            return ApplyResult(False, phase, reason + "; nothing was switched, both servers "
                               "run as before", hosts=_details(failed))
        self._event(None, "prepared", message="both configs validated and backed up")

        phase, reason, result_wait = "switch", "", None
        try:
            self._check_cancel("switch")
            switched = self._both(self._arm_and_switch)
            failed = {r: e for r, e in switched.items() if isinstance(e, Exception)}
            if failed:
                raise _Abort("switch", _reasons(failed))
            phase = "restart"
            result_wait = self._restart_and_watch()
            phase = "settle"
            self._settle(result_wait)
            self._check_cancel("commit")
            self._health()
        except _Abort as abort:
            phase, reason = abort.phase, abort.reason
        if not reason:
            committed = self._commit()
            if committed is None:
                self._event(None, "committed",
                            waited=result_wait.waited if result_wait else None)
                return ApplyResult(True, "done", "both peers are normal on the new config",
                                   timeline=result_wait.timeline if result_wait else [],
                                   waited=result_wait.waited if result_wait else None)
            phase, reason = "commit", committed
        return self._roll_back(phase, reason, result_wait)

    def _commit(self) -> str | None:
        """Commit both; None on success, else why not (a guard that had acted first)."""
        outcome = self._both(lambda t: self._decide(t, "commit"))
        acted = {r: v for r, v in outcome.items() if v != "commit"}
        if not acted:
            self._both(lambda t: self._await_result(t, 5))
            return None
        # A guard rolled its host back in the instant before the commit: put the other host
        # back on its old config too, so the pair is never split across two configs.
        return "; ".join(f"{r}: its guard decided {v or 'nothing readable'} before the commit"
                         for r, v in acted.items())

    def _decide(self, tgt: HostTarget, what: str) -> str:
        if tgt.decided or not tgt.locked:
            return tgt.decided
        # A host we lost gets one short try: its guard acts alone, and waiting on a dead
        # link would only delay the other host's rollback.
        res = self._run(tgt, guard.decide(tgt.stamp, what), label="guard", timeout=5 if
                        tgt.lost else 15, reconnect=not tgt.lost)
        tgt.decided = res.stdout.strip() or what
        self._event(tgt.role, "decided", decision=tgt.decided, ours=tgt.decided == what)
        return tgt.decided

    def _finish_all(self, what: str) -> None:
        """Abort (before the switch): each guard removes the uploads and releases the lock."""
        def finish(tgt: HostTarget) -> None:
            if tgt.locked:
                self._decide(tgt, what)
                self._await_result(tgt, 15)
        for role, value in self._both(finish).items():
            if isinstance(value, Exception):
                self._say(role, "note", f"could not reach its guard ({value}); it removes the "
                          f"uploads and releases the lock by itself within {self.miss_limit} s")

    def _await_result(self, tgt: HostTarget, timeout: float) -> str:
        """The guard's account of what it did: its first line, or "pending"."""
        deadline = time.monotonic() + timeout
        while True:
            res = self._run(tgt, guard.result(tgt.stamp), label="guard result", timeout=10,
                            reconnect=not tgt.lost, quiet=True)
            text = res.stdout.strip()
            if not text.startswith("pending") or time.monotonic() > deadline:
                tgt.guard_result = text
                return text.splitlines()[0] if text else "pending"
            time.sleep(0.2)

    def _roll_back(self, phase: str, reason: str, result_wait) -> ApplyResult:
        self._say("pair", "rollback", f"rolling both back: {reason}")
        self._stop_heartbeat()
        for tgt in self.t.values():
            if tgt.locked and time.monotonic() - tgt.last_beat > 3 * guard.HEARTBEAT + 1:
                tgt.lost = True
        rolled = self._both(self._rollback)
        bad = {r: e for r, e in rolled.items() if isinstance(e, Exception)}
        notes = []
        for role, exc in bad.items():
            notes.append(f"{role}: rollback not confirmed ({exc}); its guard restores the "
                         "old config by itself if the wizard could not")
        self._event(None, "rolled-back", phase=phase, reason=reason, incomplete=list(bad))
        return ApplyResult(False, phase, reason, rolled_back=not bad,
                           hosts={r: (v if not isinstance(v, Exception) else {"error": str(v)})
                                  for r, v in rolled.items()},
                           timeline=result_wait.timeline if result_wait else [],
                           waited=result_wait.waited if result_wait else None, notes=notes)

    def _rollback(self, tgt: HostTarget) -> dict:
        """Have the guard restore the backups and restart, then verify what it did."""
        try:
            decision = self._decide(tgt, "rollback")
        except StepFailed:
            if not tgt.lost:
                raise
            raise StepFailed(tgt.role, "unreachable; its guard restores the old config by "
                             f"itself {self.miss_limit} s after the last heartbeat") from None
        first = self._await_result(tgt, RESTART_TIMEOUT * 3 + 20)
        text = tgt.guard_result
        if first == "pending":
            raise StepFailed(tgt.role, "its guard has not finished the rollback in time")
        if first == "committed" and tgt.switched:
            return self._undo_committed(tgt)
        if first in ("aborted", "committed"):
            # Nothing was switched there: nothing to restore, its dhcpd never stopped.
            return {"restored": True, "running": True, "guard": first}
        out = {"restored": True, "running": first == "rolled-back running", "guard": first,
               "decision": decision}
        self._say(tgt.role, "restored", "old config back in place, dhcpd restarted"
                  if out["running"] else f"old config back in place, but {first}")
        for f in tgt.files:
            cur = self._run(tgt, f"cat {sh.q(f.path)}", label="verify", reconnect=True)
            if _sha(cur.stdout) != _sha(f.before):
                raise StepFailed(tgt.role, f"{f.path} is not the old config after the rollback")
        if not out["running"]:
            raise StepFailed(tgt.role, "dhcpd does not run after the rollback",
                             "\n".join(text.splitlines()[1:])[-600:])
        valid = self._run(tgt, sh.validate(tgt.dhcpd, tgt.config_path), timeout=120,
                          label="dhcpd -t", reconnect=True)
        out["valid"] = valid.ok
        return out

    def _undo_committed(self, tgt: HostTarget) -> dict:
        """A host committed while its partner's guard had already rolled back: restore its
        backups too, through a fresh guard, so both end on the old config."""
        self._say(tgt.role, "rollback", "it had committed already; restoring its backups")
        tgt.stamp, tgt.locked, tgt.decided = new_stamp(), False, ""
        self._lock(tgt)
        self._arm(tgt)
        return self._rollback(tgt)

    def _restart_and_watch(self) -> WaitResult:
        """Restart both and watch OMAPI from the first moment: the init scripts sleep, and
        the pair is often normal before they return."""
        stop = threading.Event()
        box: dict[str, WaitResult] = {}
        total = RESTART_TIMEOUT + self.normal_timeout
        # Set once both new dhcpd processes run: a `normal` read before that is the old
        # processes' (a redeploy of a running pair), and says nothing of the new configs.
        self._restarted = threading.Event()
        normal = both("normal")

        def watch() -> None:
            cond = (lambda samples: self._restarted.is_set() and normal(samples)) \
                if self.expect_failover else (lambda samples: False)
            box["r"] = wait_for(self.states_reader, cond, total, interval=0.1,
                                cancel=stop, on_transition=self._on_transition)

        watcher = threading.Thread(target=watch, name="apply-watch", daemon=True)
        if self.expect_failover:
            watcher.start()
        try:
            started = self._both(self._start_restart)
            failed = {r: e for r, e in started.items() if isinstance(e, Exception)}
            if failed:
                raise _Abort("restart", _reasons(failed))
            self._follow_restarts(watcher)
        finally:
            stop.set()
            if watcher.is_alive():
                watcher.join()
        if not self.expect_failover:
            return WaitResult(True, 0.0, {})
        result = box["r"]
        self._check_cancel("normal")
        if not result.ok:
            raise _Abort("normal", self._not_normal_reason(result))
        return result

    def _follow_restarts(self, watcher: threading.Thread) -> None:
        t0 = time.monotonic()
        done_at: dict[str, float] = {}
        restart_deadline = t0 + RESTART_TIMEOUT
        normal_deadline: float | None = None
        # The peers must at least hear of each other within max-response-delay of both
        # running; a partner that never answers is not waited for until the deadline.
        contact_by: float | None = None
        while True:
            self._check_cancel("restart" if len(done_at) < len(self.t) else "normal")
            self._health()
            now = time.monotonic()
            for role, tgt in self.t.items():
                try:
                    state, rc, pids, out = self._restart_status(tgt)
                except StepFailed:
                    continue  # counted by the heartbeat; a lost host ends in _health
                if state != "done":
                    continue
                done_at.setdefault(role, now)
                if pids and pids != tgt.pids_before:
                    if not tgt.restarted:
                        tgt.restarted = True
                        note = "" if rc == 0 else \
                            f" (the restart command exited {_rc(rc)}, but dhcpd runs)"
                        self._say(role, "restarted", f"dhcpd runs as pid "
                                  f"{', '.join(map(str, sorted(pids)))}" + note)
                elif tgt.restarted or now - done_at[role] > 3:
                    tail = self._log_tail(role)
                    how = "it started, then exited" if tgt.restarted else \
                        f"the restart command exited {_rc(rc)}"
                    raise _Abort("restart", f"{role}: dhcpd is not running after the restart "
                                 f"({how})" + (f"; its log ends: {tail}" if tail else
                                               f"; it printed: {out[-300:]}" if out else ""))
            if all(t.restarted for t in self.t.values()):
                self._restarted.set()
            if len(done_at) < len(self.t):
                if now > restart_deadline:
                    slow = [r for r in self.t if r not in done_at]
                    raise _Abort("restart", f"{', '.join(slow)}: the restart command did not "
                                 f"finish within {RESTART_TIMEOUT:.0f} s")
            else:
                if normal_deadline is None:
                    normal_deadline = now + self.normal_timeout
                    contact_by = now + self.mrd + 10
                    if self.expect_failover:
                        self._say("pair", "waiting", f"waiting up to {self.normal_timeout:.0f} s"
                                  " for both peers to reach normal")
                if not self.expect_failover and all(t.restarted for t in self.t.values()):
                    return
                if self.expect_failover and not watcher.is_alive():
                    return
                if now > normal_deadline:
                    return
                if contact_by is not None and now > contact_by and self._no_contact():
                    raise _Abort("normal", "the peers have not heard from each other "
                                 f"{self.mrd + 10} s after both restarted (max-response-delay "
                                 f"{self.mrd} s + 10 s): " + self._partner_hint())
            if self.expect_failover:
                watcher.join(POLL)
            else:
                time.sleep(POLL)

    def _no_contact(self) -> bool:
        try:
            samples = self.states_reader()
        except Exception:  # noqa: BLE001 - unreadable is no evidence of contact either
            return True
        return not any(s.state is not None and s.state.partner_state not in
                       ("unknown-state", "unknown") for s in samples.values())

    def _partner_hint(self) -> str:
        from wizard.ops.statewatch import log_hints

        hints = [f"{role}: {h}" for role in self.t for h in log_hints(self._log(role))]
        return " ".join(hints) or ("check the failover port in both directions (firewall) "
                                   "and that each peer block's addresses mirror the other's")

    def _settle(self, waited: WaitResult) -> None:
        """Both normal: keep watching for `settle` seconds before calling it done."""
        if self.settle <= 0:
            return
        self._say("pair", "settling", f"both normal; watching for {self.settle:.0f} s more "
                  "before the commit (a dhcpd that dies now is rolled back)")
        until = time.monotonic() + self.settle
        known = dict(waited.states()) if self.expect_failover else {}
        next_pids = time.monotonic()
        while time.monotonic() < until:
            self._check_cancel("settle")
            self._health()
            if self.expect_failover:
                samples = self.states_reader()
                for role, sample in samples.items():
                    label = sample.state.local_state if sample.state else "unreadable"
                    if known.get(role) != label:
                        self._on_transition(Transition(sample.t, role, known.get(role, "?"),
                                                       label, sample.state.partner_state
                                                       if sample.state else "?",
                                                       sample.error or ""))
                        known[role] = label
                if not both("normal")(samples):
                    raise _Abort("settle", "the pair left normal while settling: " + ", ".join(
                        f"{r} {s}" for r, s in known.items()))
            if time.monotonic() >= next_pids:
                for role, tgt in self.t.items():
                    try:
                        _, _, pids, _ = self._restart_status(tgt)
                    except StepFailed:
                        continue
                    if not pids:
                        tail = self._log_tail(role)
                        raise _Abort("settle", f"{role}: dhcpd exited while settling"
                                     + (f"; its log ends: {tail}" if tail else ""))
                next_pids = time.monotonic() + 1.0
            time.sleep(POLL)

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
        from wizard.ops.statewatch import diagnose, log_hints

        notes = diagnose(waited.last, None)
        for role in self.t:
            notes += [f"{role}: {h}" for h in log_hints(self._log(role))]
        states = ", ".join(f"{r} {s}" for r, s in waited.states().items())
        return (f"the pair did not reach normal within {waited.waited:.0f} s ({states})"
                + ("; " + " ".join(notes) if notes else ""))


# Labels are for the session record; the operator reads what was being done.
_DOING = {"re-read": "while re-reading the config", "upload": "while uploading the new config",
          "dhcpd -t": "while dhcpd -t checked the new config", "backup": "while backing up",
          "dhcpd pids": "while looking for the running dhcpd", "switch": "while switching",
          "arm": "while arming the guard", "lock": "while taking the lock",
          "restart": "while starting the restart", "restart status": "while following the "
          "restart", "guard": "while talking to the guard", "guard result": "while waiting "
          "for the rollback", "verify": "while verifying the rollback", "read": "while reading"}


def _what(label: str) -> str:
    return _DOING.get(label, f"while running {label or 'a command'}")


def _disk(stderr: str) -> str:
    err = stderr.strip()
    if "No space left" in err:
        return err + " (the disk is full: free space there, then apply again)"
    if "Read-only file system" in err:
        return err + " (the file system is read-only)"
    return err


def _holder(out: str) -> str:
    lines = out.splitlines()
    holder = guard.Owner.parse(lines[1]) if len(lines) > 1 else None
    miss = lines[-1].strip() if len(lines) > 2 else ""
    if holder is None:
        return "wait for the other run to finish, then try again"
    text = (f"held by {holder.command} (pid {holder.pid} on {holder.host}, user "
            f"{holder.user}, session {holder.session})")
    if miss.isdigit() and int(miss) >= 3:
        text += (f"; that run has been silent for {miss} s, so its guard is about to finish it "
                 "on its own: try again in half a minute")
    else:
        text += "; it is running now: wait for it to finish"
    return text


def _reasons(failed: dict[str, Exception]) -> str:
    parts = []
    for role, exc in failed.items():
        if isinstance(exc, StepFailed):
            parts.append(f"{exc}" + (f":\n{exc.detail}" if exc.detail else ""))
        elif isinstance(exc, _Abort):
            parts.append(exc.reason)
        else:
            parts.append(f"{role}: {exc}")
    return "; ".join(parts)


def _details(failed: dict[str, Exception]) -> dict[str, dict]:
    return {r: {"error": str(e), "detail": getattr(e, "detail", "")} for r, e in failed.items()}


def _rc(code: int | None) -> str:
    return "without an exit code" if code is None else str(code)
