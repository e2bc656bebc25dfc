"""How the drill brings back a peer whose dhcpd was restarted while it was shut down (a
package's own restart in an upgrade window): through dhcpd's conflict resolution, and never
into a state where neither peer serves. The pair is a scripted model of the few dhcpd
reactions involved (server/failover.c, dhcp_failover_peer_state_changed); the real dhcpd's
behaviour is tests/lab/test_upgrade.py's."""

from __future__ import annotations

import time

import pytest

from wizard.ops import drill as drill_mod
from wizard.ops.drill import Drill, Endpoint
from wizard.ops.omapi import FailoverState, OmapiError, StateSample
from wizard.roles import OTHER


class ScriptedPair(Drill):
    """Local states of both peers, changed by _set as dhcpd would change them."""

    def __init__(self, window, *, resolves: bool = True, refuse: set[str] = frozenset()):
        ep = {r: Endpoint(a, 7911, 519) for r, a in (("primary", "198.51.100.11"),
                                                     ("secondary", "198.51.100.12"))}
        super().__init__(ep, "pair", "omapi_key", "c2VjcmV0", probe=None, mclt=3600,
                         max_response_delay=1, window=window)
        self.local = {"primary": "partner-down", "secondary": "shutdown"}
        self.resolves, self.refuse = resolves, refuse
        self.sets: list[tuple[str, str]] = []
        self.resolved_at: float | None = None

    def _set(self, role: str, state: str) -> None:
        if state in self.refuse:
            raise OmapiError(f"{role}: dhcpd refused to set local-state {state}")
        self.sets.append((role, state))
        other = OTHER[role]
        if state == "communications-interrupted" and self.local[other] == "partner-down":
            self.local = {role: "potential-conflict", other: "potential-conflict"}
            if self.resolves:
                self.resolved_at = time.monotonic() + 0.3
        elif state == "shutdown":
            self.local[role] = "shutdown"
            if self.local[other] in ("potential-conflict", "normal"):
                self.local[other] = "partner-down"
        elif state == "recover":
            # A restarted peer holds updates to send: recover goes to recover-wait for MCLT;
            # from potential-conflict, its partner follows it into recover.
            if self.local[other] == "potential-conflict":
                self.local[other] = "recover"
            self.local[role] = "recover-wait" if self.local[other] == "partner-down" \
                else "recover"

    def _read(self):
        if self.resolved_at is not None and time.monotonic() >= self.resolved_at:
            self.local = {"primary": "normal", "secondary": "normal"}
            self.resolved_at = None
        now = time.time()
        return {r: StateSample(now, self.ep[r].address, FailoverState(
            "pair", self.local[r], self.local[OTHER[r]], 3600, int(now), int(now), r, 1, 0))
            for r in ("primary", "secondary")}


class RestartedWindow:
    def restarted_while_out(self, role: str) -> bool:
        return True


@pytest.fixture(autouse=True)
def short_grace(monkeypatch):
    monkeypatch.setattr(drill_mod, "RECONCILE_GRACE", 1.0)
    # A recover into recover-wait is watched for RETURN_GRACE, then until a cancel.
    monkeypatch.setattr(drill_mod, "RETURN_GRACE", 0.3)


def test_a_peer_restarted_while_out_rejoins_through_conflict_resolution_not_recover():
    pair = ScriptedPair(RestartedWindow())
    assert pair._restore("secondary", None) is True
    assert pair.sets == [("secondary", "communications-interrupted")]
    assert pair.local == {"primary": "normal", "secondary": "normal"}
    assert [s.name for s in pair.steps] == ["reconcile-secondary"] and pair.steps[0].ok
    assert pair.left_out is None


def test_a_resolution_that_never_ends_shuts_the_peer_down_again_so_its_partner_serves():
    pair = ScriptedPair(RestartedWindow(), resolves=False)
    assert pair._restore("secondary", None) is False
    # Never recover from potential-conflict: its partner would follow it into recover and
    # neither would serve.
    assert ("secondary", "recover") not in pair.sets
    assert pair.local == {"primary": "partner-down", "secondary": "shutdown"}
    assert pair.left_out == "secondary"
    step = pair.steps[-1]
    assert not step.ok and "primary serves every client (partner-down)" in step.detail


def test_omapi_refusing_the_set_leaves_it_shut_down_and_recover_follows():
    pair = ScriptedPair(RestartedWindow(), refuse={"communications-interrupted"})
    pair.cancel.set()
    pair._restore("secondary", None)
    assert pair.sets[0] == ("secondary", "recover")
    assert pair.steps[0].name == "reconcile-secondary" and not pair.steps[0].ok


def test_a_peer_that_was_not_restarted_returns_by_recover():
    class Untouched:
        def restarted_while_out(self, role: str) -> bool:
            return False

    pair = ScriptedPair(Untouched())
    pair.cancel.set()
    pair._restore("secondary", None)
    assert pair.sets[0] == ("secondary", "recover")
