"""The failover drill (guide steps 9 and 10): shut one peer down gracefully, prove the other
serves, put it back, wait for normal/normal.

Graceful means OMAPI's failover-state local-state = shutdown: the peer tells its partner,
which moves to partner-down by protocol. The drill never forces partner-down itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from wizard.errors import OperationFailed
from wizard.ops.lease_probe import LeaseProbe
from wizard.ops.omapi import OmapiClient, OmapiError
from wizard.ops.statewatch import Transition, both, roles_in, wait_for, wait_settled
from wizard.roles import OTHER

TAKEOVER_WAIT = 5.0
RETURN_GRACE = 15.0
SETTLE_WAIT = 60.0
# Beyond max-response-delay, for the conflict resolution of a peer restarted while out.
RECONCILE_GRACE = 30.0


@dataclass
class Endpoint:
    address: str
    omapi_port: int
    failover_port: int


@dataclass
class DrillStep:
    name: str
    ok: bool
    detail: str
    seconds: float
    data: dict = field(default_factory=dict)


@dataclass
class DrillResult:
    passed: bool
    service_proven: bool
    steps: list[DrillStep]
    timeline: list[Transition]
    summary: str
    left_out: str | None = None     # a peer left in shutdown (its window failed)


class Drill:
    def __init__(self, endpoints: dict[str, Endpoint], relationship: str, key_name: str,
                 secret: str, *, probe: LeaseProbe | None, mclt: int, max_response_delay: int,
                 session=None, progress: Callable[[str, str], None] | None = None,
                 cancel: threading.Event | None = None, omapi_timeout: float = 5.0,
                 link_ages: Callable[[], dict[str, float | None]] | None = None,
                 guard_for: Callable[[str], object] | None = None,
                 window: Callable[[str, object], tuple[bool, str]] | None = None):
        self.ep = endpoints
        self.rel = relationship
        self.key_name, self.secret = key_name, secret
        self.probe = probe
        self.mclt, self.mrd = mclt, max_response_delay
        self.session = session
        self.progress = progress or (lambda step, msg: None)
        self.cancel = cancel or threading.Event()
        self.omapi_timeout = omapi_timeout
        # role -> seconds since failover data last arrived from its partner (None: unknown)
        self.link_ages = link_ages
        # role -> a wizard.ops.drill_guard.DrillGuard for the server about to be shut down
        self.guard_for = guard_for
        # The work done while a peer is out of service (an upgrade): (role, its guard) ->
        # (done, what happened). None for a drill, which only proves the takeover.
        self.window = window
        self.left_out: str | None = None    # the peer a failed window left in shutdown
        self._restart_after: str | None = None
        self.steps: list[DrillStep] = []
        self.timeline: list[Transition] = []
        self._known: dict[str, str] = {}

    def _read(self):
        from wizard.ops.omapi import read_states

        return read_states({r: (e.address, e.omapi_port) for r, e in self.ep.items()},
                           self.key_name, self.secret, self.rel, timeout=self.omapi_timeout)

    def _step(self, name: str, ok: bool, detail: str, started: float, **data) -> DrillStep:
        step = DrillStep(name, ok, detail, round(time.monotonic() - started, 3), data)
        self.steps.append(step)
        if self.session is not None:
            self.session.event("drill", name, ok=ok, detail=detail, seconds=step.seconds, **data)
        self.progress(name, ("ok: " if ok else "FAILED: ") + detail)
        return step

    def _on_transition(self, tr: Transition) -> None:
        self.timeline.append(tr)
        if self.session is not None:
            self.session.event("drill", "state", host=tr.role, before=tr.before, after=tr.after,
                               partner=tr.partner_state, at=tr.t)
        self.progress("state", f"{tr.role}: {tr.before} -> {tr.after}: {tr.explanation}")

    def _set(self, role: str, state: str) -> None:
        e = self.ep[role]
        with OmapiClient(e.address, e.omapi_port, self.key_name, self.secret,
                         timeout=self.omapi_timeout) as client:
            client.set_local_state(self.rel, state)

    def run(self, down_roles: tuple[str, ...] = ("primary",)) -> DrillResult:
        t0 = time.monotonic()
        start = wait_for(self._read, both("normal"), timeout=5, on_transition=self._on_transition, known=self._known)
        if not start.ok:
            self._step("precondition", False, "the drill needs both peers in normal; they are "
                       + ", ".join(f"{r} {s}" for r, s in start.states().items()), t0)
            return self._result()
        # The running pair's timers, not the answers': they decide how long dhcpd waits.
        running = start.last["primary"].state
        self.mclt = running.mclt or self.mclt
        self.mrd = running.max_response_delay or self.mrd
        fresh, how = self._fresh_contact()
        if not fresh:
            self._step("precondition", False, how, t0)
            return self._result()
        self._step("precondition", True, f"both peers are normal and {how}", t0,
                   mclt=self.mclt, max_response_delay=self.mrd)
        for role in down_roles:
            if not self._one(role) or self.cancel.is_set():
                break
        return self._result()

    def bring_back(self, down: str, verify: Callable[[str, object], tuple[bool, str]] | None
                   = None) -> DrillResult:
        """Return a peer an earlier window left out of service (shutdown, its partner in
        partner-down) the way the primitive would have: verify it (the upgrade's version and
        `dhcpd -t`), restart its dhcpd, recover, normal."""
        t0 = time.monotonic()
        survivor = OTHER[down]
        start = wait_for(self._read, roles_in(**{down: "shutdown", survivor: "partner-down"}),
                         timeout=5, on_transition=self._on_transition, known=self._known)
        if not start.ok:
            self._step("precondition", False, f"resuming expects {down} in shutdown and "
                       f"{survivor} in partner-down; they are " + ", ".join(
                           f"{r} {s}" for r, s in start.states().items()), t0)
            return self._result()
        running = start.last[survivor].state
        noted = getattr(self.window, "out_since", None)
        if noted is not None:
            noted(down, start.last[down].state.local_stos)
        self.mclt = running.mclt or self.mclt
        self.mrd = running.max_response_delay or self.mrd
        self._step("precondition", True, f"{down} is shut down and {survivor} serves alone "
                   "(partner-down)", t0)
        net, back = None, False
        if self.guard_for is not None:
            net = self.guard_for(down)
            net.start()
        try:
            if verify is not None:
                t = time.monotonic()
                ok, detail = verify(down, net)
                self._step(f"verify-{down}", ok, detail, t)
                if not ok:
                    self.left_out = down
                    return self._result()
            back = self._restore(down, net)
        finally:
            self._stand_down(down, net)
        if back and verify is not None:
            self._start_release(down, net)
        return self._result()

    def _fresh_contact(self) -> tuple[bool, str]:
        """Fresh evidence that the peers talk now, not a `normal` that dhcpd has not yet
        found stale: failover data seen arriving on both hosts within one CONTACT interval
        (max-response-delay / 3), or else normal held for a whole max-response-delay."""
        limit = self.mrd / 3 + 2
        ages: dict[str, float | None] = {}
        if self.link_ages is not None:
            # Only a message that arrived after we started looking is fresh: one from before
            # could be the last before the traffic was cut.
            began = time.monotonic()
            deadline = began + limit + 2
            heard: set[str] = set()
            while True:
                try:
                    ages = self.link_ages()
                except Exception:  # noqa: BLE001 - no reading: fall back to the timer below
                    ages = {}
                since = time.monotonic() - began
                heard |= {r for r, a in ages.items() if a is not None and a <= since}
                if ages and heard >= set(ages):
                    return True, (f"failover messages arrived on both within the "
                                  f"{since:.1f} s it was watched")
                if not ages or any(a is None for a in ages.values()) or \
                        time.monotonic() > deadline or self.cancel.is_set():
                    break
                time.sleep(0.5)
            if ages and all(a is not None for a in ages.values()):
                late = ", ".join(f"{r} {a:.0f} s" for r, a in ages.items() if r not in heard)
                return False, ("both say normal, but no failover message has arrived for "
                               f"{late} (they should every {self.mrd / 3:.0f} s): the traffic "
                               "between them is dropped, and a shutdown now would leave the "
                               "survivor in communications-interrupted. Check the firewall "
                               "between the peers in both directions.")
        hold = self.mrd + 2
        self.progress("precondition", f"no link reading over SSH; watching normal for {hold:.0f} s"
                      " (max-response-delay + 2) to be sure the peers still talk")
        res = wait_for(self._read, lambda s: not both("normal")(s), timeout=hold,
                       cancel=self.cancel, on_transition=self._on_transition, known=self._known)
        if res.ok or res.cancelled:
            return False, ("the pair left normal while it was watched: " + ", ".join(
                f"{r} {st}" for r, st in res.states().items()) if res.ok else "cancelled")
        return True, f"stayed normal for {hold:.0f} s"

    def _one(self, down: str) -> bool:
        t = time.monotonic()
        # The rebalance after a deploy or after the last peer's return sends binding updates;
        # a peer shut down with some still unacknowledged comes back with them queued, and
        # then dhcpd makes it wait out MCLT (docs/dhcpd-behaviour.md). Let them land first.
        settled, waited, unacked = wait_settled(self._read, timeout=SETTLE_WAIT,
                                                cancel=self.cancel)
        self._step(f"settled-{down}", True, (
            f"no binding update in flight on either peer ({waited:.1f} s)") if settled else (
            f"binding updates still unacknowledged after {waited:.0f} s ({unacked}): going on; "
            f"{down} may have to wait out MCLT when it returns"), t, unacked=unacked)
        if self.cancel.is_set():
            return False
        t = time.monotonic()
        net = None
        if self.guard_for is not None:
            try:
                net = self.guard_for(down)
                net.start()
            except Exception as exc:  # noqa: BLE001 - no safety net, no shutdown
                self._step(f"guard-{down}", False, f"the drill could not arm its safety net "
                           f"on {down} ({exc}); nothing was shut down", t)
                return False
        self._restart_after = None
        try:
            ok = self._one_guarded(down, net)
        finally:
            self._stand_down(down, net)
        if ok and self._restart_after == down:
            return self._start_release(down, net)
        return ok

    def _stand_down(self, down: str, net) -> None:
        if net is not None:
            outcome = net.finish()
            if self.session is not None:
                self.session.event("drill", "guard", host=down, result=outcome)

    def _start_release(self, down: str, net) -> bool:
        """After a window: the new release runs already, or it is restarted onto it."""
        already = getattr(self.window, "already_running", None)
        why = already(down) if already is not None else None
        if why:
            self._step(f"release-{down}", True, why, time.monotonic())
            return True
        return self._restart_in_service(down, net)

    def _restart_in_service(self, down: str, net) -> bool:
        """Start the release the window installed: restart the peer's dhcpd while the pair
        is normal. Its partner notices a lost connection (communications-interrupted) and
        answers every client for the seconds it takes; the restarted peer comes straight
        back to normal. What it costs: the DISCOVERs the old process was still ping-checking
        when it stopped (docs/dhcpd-behaviour.md); their clients' retransmissions are
        answered. Restarted in shutdown instead, it would reload the leases it offered
        while serving alone as updates still to send, and dhcpd would make it wait out MCLT
        in recover-wait (docs/dhcpd-behaviour.md). The guard is stood down first: its
        recovery (set recover) is for a peer out of service, not for a normal one."""
        settled, waited, unacked = wait_settled(self._read, timeout=SETTLE_WAIT)
        t = time.monotonic()
        if net is None or net.restart_command is None:
            self._step(f"restart-{down}", False, f"no restart command is known for {down}: "
                       "restart its dhcpd yourself to run the new release", t)
            return False
        self.progress("restarting", f"{down}: restarting its dhcpd in service "
                      f"(`{net.restart_command}`) so the new release runs; "
                      f"{OTHER[down]} answers every client meanwhile")
        ok, how = net.restart()
        if not ok and net.lost_contact:
            self._step(f"restart-{down}", False, f"{how}. The pair needs nothing from the "
                       f"wizard to get back to normal; once {down} answers SSH again, "
                       "`dhcp-wizard check` shows both states and which release each runs", t,
                       lost_contact=True)
            return False
        if not ok:
            self._step(f"restart-{down}", False, f"{how}. {OTHER[down]} keeps answering "
                       f"clients (communications-interrupted) from its own addresses; fix "
                       f"{down}'s dhcpd, or put the old release back, and restart it", t)
            return False
        res = wait_for(self._read, both("normal"), timeout=self.mrd + 60,
                       on_transition=self._on_transition, known=self._known)
        self._step(f"restart-{down}", res.ok, f"{how}; both peers normal "
                   f"{res.waited:.1f} s later" if res.ok else f"{how}; not normal again: " +
                   ", ".join(f"{r} {st}" for r, st in res.states().items()), t,
                   seconds_to_normal=round(res.waited, 3))
        return res.ok

    def _one_guarded(self, down: str, net) -> bool:
        survivor = OTHER[down]
        t = time.monotonic()
        try:
            self._set(down, "shutdown")
        except OmapiError as exc:
            self._step(f"shutdown-{down}", False, exc.message, t)
            return False
        # The partner hears of a graceful shutdown at once (well under a second on the lab).
        # Not within a few seconds means the message was lost on the way, and meanwhile the
        # clients of the shut-down server's half go unanswered: put it back at once.
        res = wait_for(self._read, roles_in(**{down: "shutdown", survivor: "partner-down"}),
                       timeout=TAKEOVER_WAIT, cancel=self.cancel,
                       on_transition=self._on_transition, known=self._known)
        if res.cancelled:
            self._step("cancelled", False, f"{self.cancel_reason()}; putting {down} back into "
                       "operation", t)
            self._restore(down, net)
            return False
        ok = res.ok
        self._step(f"shutdown-{down}", ok, f"{down} shut down gracefully; {survivor} took over "
                   "(partner-down)" if ok else f"{survivor} did not take over within "
                   f"{TAKEOVER_WAIT:.0f} s (" + ", ".join(f"{r} {s}" for r, s in
                                                          res.states().items())
                   + f"): the shutdown message did not reach it, so failover messages between "
                   f"them are lost (a firewall or an MTU problem that lets the small ones "
                   f"through); {down} is put back at once", t,
                   seconds_to_partner_down=round(res.waited, 3))
        proven = ok and not self.cancel.is_set() and self._prove(survivor)
        if self.cancel.is_set():
            self._step("cancelled", False, f"{self.cancel_reason()}; putting {down} back into "
                       "operation", t)
        if ok and proven and self.window is not None and not self.cancel.is_set():
            t = time.monotonic()
            done, detail = self.window(down, net)
            self._step(f"window-{down}", done, detail, t)
            if not done:
                # The work in the window failed: whatever runs on that host now is unproven,
                # so it stays out of service and the survivor, untouched, serves everyone.
                self.left_out = down
                return False
        # Always put the peer back, even when a step above failed: a drill must not leave a
        # server in shutdown (it would stay there across restarts). Never restarted here:
        # after a window, the new release starts once the pair is normal again.
        back = self._restore(down, net, broken_link=not ok)
        if ok and proven and back and self.window is not None:
            self._restart_after = down
        return ok and proven and back

    def _prove(self, survivor: str) -> bool:
        t = time.monotonic()
        if self.probe is None:
            self._step("service", True, "service not proven: no probe client is configured "
                       "([drill] probe in the answers); the states say the survivor serves", t,
                       proven=False)
            return True
        try:
            lease = self.probe.obtain(timeout=20)
        except OperationFailed as exc:
            self._step("service", False, f"no lease from {self.probe.describe()}: {exc.message}", t,
                       proven=False)
            return False
        from_survivor = lease.get("server") == self.ep[survivor].address
        detail = (f"{self.probe.describe()} got {lease.get('address')} from "
                  f"{lease.get('server')} in {lease.get('elapsed', 0):.2f} s")
        if not from_survivor:
            detail += f", but not from the survivor ({self.ep[survivor].address})"
        self._step("service", from_survivor, detail, t, proven=from_survivor, lease=lease)
        return from_survivor

    def _reconcile(self, down: str) -> str:
        """Return a peer whose dhcpd was restarted while it was shut down (a package's own
        restart in the window). The fresh process reloaded its lease file and holds binding
        updates to send, so dhcpd would take recover to recover-wait for the whole MCLT
        (failover.c skips the wait from shutdown only with both its queues empty;
        docs/dhcpd-behaviour.md). Set to communications-interrupted instead, it meets its
        partner's partner-down and both go through dhcpd's own conflict resolution
        (potential-conflict, updates both ways, then normal): about a second in which
        neither answers. Safe because the peer served no client while shut down, and every
        binding its partner gave meanwhile is queued for it and sent in the resolution.
        "normal"; "untouched" (OMAPI refused: still shut down, recover it as usual); or
        "left-out": no normal came, and it is shut down again so that its partner serves
        everyone (in potential-conflict neither would; a recover now would take both there)."""
        t = time.monotonic()
        survivor = OTHER[down]
        self.progress("reconcile", f"{down}'s dhcpd was restarted while it was shut down (the "
                      "window's own work, as package upgrades do): recover would make it wait "
                      f"out MCLT ({self.mclt} s), so it rejoins through dhcpd's conflict "
                      "resolution instead (potential-conflict, then normal; about a second in "
                      "which neither peer answers)")
        try:
            self._set(down, "communications-interrupted")
        except OmapiError as exc:
            self._step(f"reconcile-{down}", False, f"{exc.message}; setting it to recover "
                       "instead", t)
            return "untouched"
        res = wait_for(self._read, both("normal"), timeout=self.mrd + RECONCILE_GRACE,
                       on_transition=self._on_transition, known=self._known)
        if res.ok:
            self._step(f"reconcile-{down}", True, f"both peers normal {res.waited:.1f} s later, "
                       "through potential-conflict; no MCLT wait", t,
                       seconds_to_normal=round(res.waited, 3))
            return "normal"
        where = ", ".join(f"{r} {st}" for r, st in res.states().items())
        try:
            self._set(down, "shutdown")
            back = wait_for(self._read, roles_in(**{down: "shutdown", survivor: "partner-down"}),
                            timeout=TAKEOVER_WAIT, on_transition=self._on_transition,
                            known=self._known).ok
        except OmapiError:
            back = False
        self._step(f"reconcile-{down}", False, f"not normal after the conflict resolution "
                   f"({where}); " + (f"{down} is shut down again and {survivor} serves every "
                                     "client (partner-down)" if back else
                                     f"and {down} could not be shut down again: look at both "
                                     "servers' logs now"), t)
        return "left-out"

    def _restore(self, down: str, net, broken_link: bool = False) -> bool:
        restarted = getattr(self.window, "restarted_while_out", None)
        if not broken_link and restarted is not None and restarted(down):
            outcome = self._reconcile(down)
            if outcome != "untouched":
                if outcome == "left-out":
                    self.left_out = down
                return outcome == "normal"
        t = time.monotonic()
        try:
            self._set(down, "recover")
        except OmapiError as exc:
            self._step(f"recover-{down}", False, exc.message, t)
            return False
        # The returning peer relearns the leases the survivor gave out and may wait out MCLT.
        # It is set to recover now and gets there by itself, so a cancel only stops the
        # watching (a Ctrl+C must not hold the operator for an hour of recover-wait).
        # With the messages between them lost, normal cannot come until that is fixed:
        # wait one dead-peer interval, not MCLT, and say where things stand.
        limit = self.mrd + 15 if broken_link else self.mclt + 2 * self.mrd + 30
        self.progress("waiting", f"{down} is back in operation; waiting up to {limit} s for "
                      f"normal on both (it may wait out MCLT, {self.mclt} s, in recover-wait)")
        reader = self._counting_down()
        # The first seconds are not cancellable: a peer that skips the MCLT wait is normal
        # within them, and a cancel that came earlier asked for exactly that.
        res = wait_for(reader, both("normal"), timeout=min(limit, RETURN_GRACE),
                       on_transition=self._on_transition, known=self._known)
        if not res.ok and limit > RETURN_GRACE:
            more = wait_for(reader, both("normal"), timeout=limit - RETURN_GRACE,
                            cancel=self.cancel, on_transition=self._on_transition,
                            known=self._known)
            more.waited += res.waited
            res = more
        if res.cancelled:
            detail = (f"{self.cancel_reason()} while {down} was returning: it is set to "
                      "recover and reaches normal by itself" + self._eta(res) +
                      "; nothing else is left to do")
        elif res.ok:
            detail = "both peers are normal again"
        else:
            detail = ("not back to normal: " + ", ".join(f"{r} {s}" for r, s in
                                                         res.states().items())
                      + (f"; {down} is set to recover and rejoins by itself once the "
                         "messages between them get through" if broken_link else ""))
        self._step(f"recover-{down}", res.ok, detail, t, seconds_to_normal=round(res.waited, 3))
        return res.ok

    def _eta(self, res) -> str:
        """When a peer in recover-wait serves again (STOS + MCLT), as a clock time."""
        for sample in res.last.values():
            st = sample.state
            if st is not None and st.local_state == "recover-wait" and st.local_stos:
                at = time.strftime("%H:%M:%S", time.localtime(st.local_stos + (st.mclt or
                                                                              self.mclt)))
                return f" (it waits out MCLT in recover-wait until {at})"
        return ""

    def cancel_reason(self) -> str:
        return getattr(self.cancel, "reason", "") or "cancelled by the operator"

    def _counting_down(self):
        """The reader, saying every 5 s how long a peer in recover-wait still waits."""
        last = [0.0]

        def read():
            samples = self._read()
            now = time.time()
            if now - last[0] >= 5:
                for role, sample in samples.items():
                    st = sample.state
                    if st is not None and st.local_state == "recover-wait" and st.local_stos:
                        left = max(0, st.local_stos + (st.mclt or self.mclt) - now)
                        self.progress("waiting", f"{role} in recover-wait: {left:.0f} s of MCLT "
                                      "left before it serves again (by design: no address "
                                      "can be given out twice)")
                        last[0] = now
            return samples
        return read

    def _result(self) -> DrillResult:
        passed = bool(self.steps) and all(s.ok for s in self.steps)
        proven = any(s.name == "service" and s.data.get("proven") for s in self.steps)
        if passed and proven:
            summary = "drill passed: the survivor served a real client and both peers are normal"
        elif passed:
            summary = "drill passed on the states, but service not proven (no probe client)"
        elif any(s.name == "cancelled" for s in self.steps):
            back = self.steps[-1]
            summary = (f"drill cancelled ({self.cancel_reason()}); "
                       + ("the pair is back in operation, both normal" if back.ok else
                          f"putting the peer back did not complete: {back.detail}"))
        else:
            failed = next(s for s in self.steps if not s.ok)
            summary = f"drill failed at {failed.name}: {failed.detail}"
        if self.session is not None:
            self.session.event("drill", "result", passed=passed, service_proven=proven,
                               summary=summary)
        return DrillResult(passed, proven, self.steps, self.timeline, summary, self.left_out)

