"""Watch both peers' failover states over OMAPI: a timestamped timeline and a diagnosis.

The watcher takes a `reader` (a function returning one StateSample per role), so the timing
logic is tested with recorded sequences and the live path uses wizard.ops.omapi.read_states.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from wizard.ops.omapi import EXPLAIN, StateSample

Reader = Callable[[], dict[str, StateSample]]
Condition = Callable[[dict[str, StateSample]], bool]


@dataclass(frozen=True)
class Transition:
    t: float
    role: str
    before: str
    after: str
    partner_state: str
    explanation: str

    def line(self, t0: float) -> str:
        return (f"+{self.t - t0:6.2f}s  {self.role:<9} {self.before} -> {self.after}"
                f"  (partner {self.partner_state}): {self.explanation}")

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class WaitResult:
    ok: bool
    waited: float
    last: dict[str, StateSample]
    timeline: list[Transition] = field(default_factory=list)
    cancelled: bool = False

    def states(self) -> dict[str, str]:
        return {role: _label(s) for role, s in self.last.items()}


def _label(sample: StateSample) -> str:
    if sample.state is None:
        return "unreadable"
    return sample.state.local_state


def both(state: str) -> Condition:
    return lambda samples: all(s.state is not None and s.state.local_state == state
                               and s.state.partner_state == state for s in samples.values())


def roles_in(**wanted: str) -> Condition:
    """E.g. roles_in(secondary="partner-down"): each named role's local state as given."""
    return lambda samples: all(samples[r].state is not None and samples[r].state.local_state == s
                               for r, s in wanted.items())


def wait_for(reader: Reader, condition: Condition, timeout: float, *,
             interval: float = 0.2, cancel: threading.Event | None = None,
             on_transition: Callable[[Transition], None] | None = None,
             clock: Callable[[], float] = time.time,
             sleep: Callable[[float], None] = time.sleep,
             known: dict[str, str] | None = None) -> WaitResult:
    """Poll until condition holds or timeout passes, recording every state change.

    known carries the last seen states from one wait to the next (updated in place), so a
    sequence of waits makes one timeline without repeating unchanged states.
    """
    start = clock()
    seen: dict[str, str] = known if known is not None else {}
    timeline: list[Transition] = []
    while True:
        samples = reader()
        for role, sample in samples.items():
            now_label = _label(sample)
            if seen.get(role) != now_label:
                partner = sample.state.partner_state if sample.state else "?"
                explanation = (EXPLAIN.get(now_label, "") if sample.state
                               else sample.error or "cannot be read")
                tr = Transition(sample.t, role, seen.get(role, "(start)"), now_label, partner,
                                explanation)
                timeline.append(tr)
                seen[role] = now_label
                if on_transition:
                    on_transition(tr)
        if condition(samples):
            return WaitResult(True, clock() - start, samples, timeline)
        if cancel is not None and cancel.is_set():
            return WaitResult(False, clock() - start, samples, timeline, cancelled=True)
        if clock() - start >= timeout:
            return WaitResult(False, clock() - start, samples, timeline)
        sleep(interval)


def normal_deadline(mclt: int, max_response_delay: int, expect_mclt_wait: bool) -> float:
    """How long a healthy pair may take to reach normal.

    A new pair (both in recover) skips the MCLT wait and is normal within seconds of the
    primary connecting; a peer rejoining a partner that served alone waits MCLT in
    recover-wait. The primary retries a lost connection about every 5 s, hence the slack.
    """
    base = 30.0 + 2 * max_response_delay
    return base + (mclt if expect_mclt_wait else 0)


def diagnose(last: dict[str, StateSample], mclt: int | None, now: float | None = None) -> list[str]:
    """Plain sentences on why a pair is not normal, from the states alone."""
    now = time.time() if now is None else now
    notes = []
    for role, sample in last.items():
        st = sample.state
        if st is None:
            notes.append(f"{role}: OMAPI unreadable: {sample.error}")
            continue
        if st.local_state == "recover-wait" and st.local_stos and (st.mclt or mclt):
            until = st.local_stos + (st.mclt or mclt or 0)
            left = max(0, until - now)
            notes.append(f"{role} is in recover-wait until {time.strftime('%H:%M:%S', time.localtime(until))} "
                         f"(MCLT, {left:.0f} s from now): this is by design, it must not "
                         "hand out addresses its partner may have given away meanwhile.")
        elif st.local_state == "communications-interrupted":
            notes.append(f"{role} cannot talk to its partner: check the failover port in both "
                         "directions (firewall), that the addresses in the peer blocks mirror each "
                         "other, and that the clocks are within 60 s (`time offset too large` in "
                         "the log).")
        elif st.local_state in ("startup", "recover") and st.partner_state in ("unknown-state",
                                                                              "startup", "unknown"):
            notes.append(f"{role} has not heard from its partner yet ({st.local_state}): is the "
                         "partner's dhcpd running with the same relationship name, and does "
                         "the failover traffic get through? A firewall or an MTU problem can "
                         "let the connection open and drop the messages.")
        elif st.local_state == "potential-conflict":
            notes.append(f"{role} is in potential-conflict: the peers disagree about leases; they "
                         "resolve it themselves once they talk, which needs both running.")
        elif st.local_state == "paused":
            notes.append(f"{role} was paused by an operator; set it to recover to resume.")
    return notes


def log_hints(log_text: str) -> list[str]:
    """Known dhcpd log lines that explain a pair that will not reach normal."""
    hints = []
    if "time offset too large" in log_text or "time mismatch too great" in log_text:
        hints.append("dhcpd's log says `time offset too large`: the peers' clocks differ by "
                     "60 s or more, so they refuse each other. Fix NTP on both, then restart.")
    if "no matching state" in log_text:
        hints.append("dhcpd's log says `no matching state`: the relationship names or the peer "
                     "addresses do not match between the two configs.")
    if "connect: Connection refused" in log_text or "Connection refused" in log_text:
        hints.append("the partner refused the failover connection: its dhcpd is not listening "
                     "on the peer port (not running, or another port in its config).")
    if "address not available" in log_text.lower() or "Can't bind" in log_text:
        hints.append("dhcpd could not bind its failover `address`: it must be an address of "
                     "that host.")
    return hints


def wait_settled(read, *, timeout: float = 60.0, quiet_reads: int = 3,
                 every: float = 1.0, cancel=None) -> tuple[bool, float, dict]:
    """After both peers are normal, the pool rebalance between them: dhcpd moves free
    addresses to the partner with binding updates right after normal. Settled when no update
    is in flight on either peer (OMAPI's cur-unacked-updates is 0) for `quiet_reads` reads in
    a row. (settled, seconds waited, the last unacked counts)."""
    started = time.monotonic()
    quiet = 0
    last: dict = {}
    while time.monotonic() - started < timeout:
        if cancel is not None and cancel.is_set():
            break
        samples = read()
        last = {r: (s.state.unacked if s.state is not None else None) for r, s in samples.items()}
        if all(v in (0, None) for v in last.values()):   # None: dhcpd does not say
            quiet += 1
            if quiet >= quiet_reads:
                return True, time.monotonic() - started, last
        else:
            quiet = 0
        time.sleep(every)
    return False, time.monotonic() - started, last
