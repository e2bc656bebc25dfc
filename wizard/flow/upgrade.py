"""A rolling upgrade of a running pair, the way ISC advises it: one peer at a time, each
returning to normal, and the pool rebalance between them done, before the next one goes.

Each peer goes through the drill's primitive (wizard.ops.drill): a graceful shutdown over
OMAPI, the survivor proven to serve a real client in partner-down, the upgrade in the window
(wizard.ops.upgrade), the peer's dhcpd restarted so it returns without waiting out MCLT,
recover -> normal. A pre-flight `check` comes first and a post-flight one, with version
parity, last. Whatever goes wrong, the other peer is never touched: the survivor stays in
partner-down, serving every client, and the result says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wizard.errors import InputError
from wizard.roles import OTHER, ROLES

DEFAULT_ORDER = ("secondary", "primary")
WHY_ORDER = {
    ("secondary", "primary"): (
        "secondary first: while it is out, the primary, which holds the pair's split and "
        "MCLT and starts every pool rebalance, serves everyone on the release in production; "
        "if the new release misbehaves on the secondary, the primary is still untouched"),
    ("primary", "secondary"): (
        "primary first, as asked: while it is out, the secondary serves everyone alone; the "
        "primary then runs the new release with the secondary still on the old one"),
}


def parse_order(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_ORDER
    order = tuple(p.strip() for p in text.split(",") if p.strip())
    if sorted(order) != sorted(ROLES):
        raise InputError(f"--order {text!r} must name both peers once each",
                         "use --order secondary,primary (the default) or primary,secondary")
    return order


@dataclass
class UpgradeOutcome:
    ok: bool
    summary: str
    order: tuple[str, ...]
    upgraded: list[str] = field(default_factory=list)
    left_out: str | None = None         # a peer in shutdown, its partner serving alone
    advice: list[str] = field(default_factory=list)
    versions: dict[str, dict] = field(default_factory=dict)


class RollingUpgrade:
    """Drives Deployment `d` (connected, inspected) through both peers' windows."""

    def __init__(self, d, window, order: tuple[str, ...] = DEFAULT_ORDER,
                 settle_timeout: float = 60.0, answers_path: str = "FILE"):
        self.d, self.window, self.order = d, window, order
        self.settle_timeout = settle_timeout
        self.answers_path = answers_path     # as the advice names it

    def _say(self, role: str, step: str, msg: str) -> None:
        self.d.progress(role, step, msg)

    def _event(self, name: str, **data) -> None:
        if self.d.session is not None:
            self.d.session.event("upgrade", name, **data)

    def run(self, resume: str | None = None) -> UpgradeOutcome:
        """Both peers in order; with `resume`, first bring back the peer an earlier run left
        in shutdown (after the operator fixed it), then go on with the peers after it."""
        out = UpgradeOutcome(False, "", self.order)
        self._say("pair", "order", f"{' then '.join(self.order)}: "
                  f"{WHY_ORDER.get(self.order, '')}")
        for role in self.order:
            self.window.before(role)
        self._event("start", order=list(self.order), resume=resume, versions_before={
            r: self.window.records[r].before for r in self.order})
        todo = list(self.order)
        if resume is not None:
            todo = todo[todo.index(resume) + 1:]
            self._say(resume, "resume", f"bringing {resume} back: its dhcpd checked, "
                      "restarted, set to recover")
            res = self.d.bring_back(resume, window=self.window)
            if not self._peer_done(resume, res, out):
                return self._end(out)
        for role in todo:
            if self.d.cancel.is_set():
                reason = getattr(self.d.cancel, "reason", "") or "cancelled"
                out.summary = (f"stopped before {role} ({reason}): upgraded so far: "
                               f"{', '.join(out.upgraded) or 'none'}; both peers are in "
                               "operation")
                return self._end(out)
            self._say(role, "upgrade", f"taking {role} out of service; {OTHER[role]} serves "
                      "everyone meanwhile")
            if not self._peer_done(role, self.d.drill(roles=(role,), window=self.window), out):
                return self._end(out)
        out.ok = True
        out.summary = ("both peers upgraded, one at a time; both are normal" if resume is None
                       else f"{resume} is back and the upgrade is complete; both are normal")
        return self._end(out)

    def _peer_done(self, role: str, res, out: UpgradeOutcome) -> bool:
        from wizard.ops.statewatch import wait_settled

        if not res.passed:
            out.left_out = res.left_out
            out.summary = f"{role}: {res.summary}"
            out.advice = self._advice(role, res)
            return False
        running, what = self.window.confirm_running(role)
        self._say(role, "running", what)
        if not running:
            out.summary = what
            out.advice = [f"Both peers are in operation; restart {role}'s dhcpd to run the "
                          "new release, then run `dhcp-wizard check`."]
            return False
        settled, waited, unacked = wait_settled(self.d.state_reader(),
                                                timeout=self.settle_timeout,
                                                cancel=self.d.cancel)
        self._say("pair", "rebalance", (
            f"pool rebalance done: no binding update in flight on either peer "
            f"({waited:.1f} s after normal)") if settled else (
            f"binding updates still in flight after {waited:.0f} s ({unacked}); going on: "
            "dhcpd finishes the rebalance by itself"))
        self._event("peer-done", host=role, rebalanced=settled, unacked=unacked,
                    **{k: v for k, v in self.window.records[role].as_dict().items()
                       if k != "role"})
        out.upgraded.append(role)
        return True

    def _advice(self, role: str, res) -> list[str]:
        survivor = OTHER[role]
        if res.left_out:
            return [
                f"{survivor} serves every client alone (partner-down) and was not touched.",
                f"{role} is shut down (failover state shutdown) and serves no one; its old "
                "dhcpd may still run, in shutdown.",
                f"Fix what failed on {role} (above), then bring it back with: dhcp-wizard "
                f"upgrade --answers {self.answers_path} --resume {role}",
                f"Never take {survivor} down meanwhile: it is the only server answering.",
            ]
        failed = next((s for s in res.steps if not s.ok), None)
        if failed is not None and failed.name.startswith("restart-"):
            # Restarted in service: the pair was normal, the partner answers everyone
            # (communications-interrupted) until the restarted dhcpd talks to it again.
            if failed.data.get("lost_contact"):
                return [f"{role} was back in normal, with the new release installed, when the "
                        "wizard lost SSH contact with it during the restart that starts the "
                        "new release; the restart runs on the host and completes by itself.",
                        f"{survivor} answers every client meanwhile.",
                        f"Once {role} answers SSH: `dhcp-wizard check --answers "
                        f"{self.answers_path}` (both "
                        "normal, version parity); then run the upgrade again for the peers "
                        "it did not reach."]
            return [f"{role}'s dhcpd did not come back after the restart that starts the new "
                    f"release; {survivor} answers every client meanwhile "
                    "(communications-interrupted).",
                    f"Start {role}'s dhcpd (or put the old release back and start it); it "
                    "rejoins by itself, then run `dhcp-wizard check --answers "
                    f"{self.answers_path}`."]
        if failed is not None and failed.name.startswith("recover-"):
            return [f"{survivor} serves every client (partner-down) while {role} returns.",
                    f"See what the drill said above; {role} was set to recover where it could "
                    "be, and rejoins by itself once it runs.",
                    f"Re-run `dhcp-wizard check --answers {self.answers_path}` to see where the "
                    "pair stands."]
        return ["Both peers stayed in operation; nothing was upgraded on this peer.",
                "Fix what the pre-condition said, then run the upgrade again."]

    def _end(self, out: UpgradeOutcome) -> UpgradeOutcome:
        out.versions = {r: rec.as_dict() for r, rec in self.window.records.items()}
        self._event("result", ok=out.ok, summary=out.summary, upgraded=out.upgraded,
                    left_out=out.left_out, advice=out.advice, versions=out.versions)
        return out


# Mid-upgrade (resuming), the peers differ in release and one is out of service: that is
# the situation being finished, not a reason to refuse.
RESUME_EXPECTED = {"version-parity", "failover-state"}


def preflight(results, resume: str | None = None):
    """The pre-flight judgement, the same for `upgrade` and the TUI: (the results that
    count, the ones set aside as expected while resuming, the Gate they make)."""
    from wizard.flow.policy import judge

    if resume is None:
        return list(results), [], judge(results)
    expected = [r for r in results if r.id in RESUME_EXPECTED and r.status != "pass"]
    kept = [r for r in results if r not in expected]
    return kept, expected, judge(kept)


def offer(results, accepted=()):
    """Whether "Check an existing pair" offers the rolling upgrade: the pre-flight
    judgement of `upgrade` (its fails block, its warnings need accepting), and a failover
    pair in operation, which the first peer's shutdown needs anyway. (open, reasons, Gate)."""
    _kept, _expected, gate = preflight(results)
    reasons = list(gate.reasons)
    states = [r for r in results if r.id == "failover-state"]
    if not states:
        reasons.append("the pair's failover state was not read: the upgrade needs a running "
                       "failover pair, both normal")
    reasons += [f"a peer is taken out of service only while both are normal: {r.detail}"
                for r in states if r.status != "pass" and r.detail not in reasons]
    return not reasons and gate.open(accepted), reasons, gate


def make_window(d, *, command: str | None = None, operator_done=None,
                timeout: float | None = None, progress=None):
    """The work in each peer's window for Deployment `d` (inspected): `command` run on the
    host (headless, or the TUI's command field), else a wait for `operator_done`."""
    from wizard.ops.upgrade import COMMAND_TIMEOUT, UpgradeWindow

    return UpgradeWindow(
        lambda r: d.pair.conn(r), {r: d.hosts[r].dhcpd for r in d.hosts},
        {r: d.hosts[r].config_path for r in d.hosts}, command=command,
        operator_done=None if command else operator_done,
        timeout=timeout or COMMAND_TIMEOUT, session=d.session,
        progress=progress or (lambda step, msg: d.progress("upgrade", step, msg)))


@dataclass
class PostFlight:
    ok: bool
    results: list
    parity: str            # what version-parity said
    reasons: tuple[str, ...] = ()


def post_flight(d) -> PostFlight:
    """After both peers: the whole check again; clean only with version parity passing."""
    from wizard.flow.policy import judge

    results = d.check()
    parity = next((r for r in results if r.id == "version-parity"), None)
    reasons = judge(results).reasons
    ok = not reasons and parity is not None and parity.status == "pass"
    said = parity.detail if parity is not None else "version parity was not checked"
    if d.session is not None:
        d.session.event("upgrade", "post-flight", ok=ok, parity=said, reasons=list(reasons))
    return PostFlight(ok, results, said, tuple(reasons))


@dataclass
class UpgradeRun:
    """What the TUI's upgrade worker hands back."""

    outcome: UpgradeOutcome
    post: PostFlight | None = None


def run_upgrade(d, order: tuple[str, ...], *, command: str | None = None,
                operator_done=None, resume: str | None = None, progress=None,
                answers_path: str = "FILE") -> UpgradeRun:
    """The TUI's rolling upgrade on Deployment `d`, after its check passed on screen:
    what `dhcp-wizard upgrade` does after its pre-flight (blocking: run it in a worker)."""
    if not d.hosts:
        d.inspect()
    if d.secret is None:
        plan = d.plan()         # the OMAPI key in use, from the live configs
        if plan.changed:
            d.progress("pair", "note", "the live configs differ from what these answers "
                       "would deploy; the upgrade leaves them as they are")
    window = make_window(d, command=command, operator_done=operator_done, progress=progress)
    outcome = RollingUpgrade(d, window, order, answers_path=answers_path).run(resume=resume)
    if not outcome.ok:
        return UpgradeRun(outcome)
    if d.cancel.is_set():
        # The operator is quitting (or a signal came) as the last peer finished: the pair
        # is back; the check is theirs to run, not a wait before the wizard may go.
        d.progress("pair", "post-flight", "skipped (the upgrade was cancelled): run "
                   f"`dhcp-wizard check --answers {answers_path}` for version parity")
        return UpgradeRun(outcome)
    d.progress("pair", "post-flight", "post-flight check, with version parity")
    return UpgradeRun(outcome, post_flight(d))


def survivor_watch(d, survivor: str):
    """The live view of the peer that serves alone (wizard.ops.survivor_watch)."""
    from wizard.ops.omapi import read_states
    from wizard.ops.survivor_watch import SurvivorWatch

    ep = d.endpoints()[survivor]
    fo, key_name = d.answers.failover, d.answers.omapi.key_name

    def read():
        return read_states({survivor: (ep.address, ep.omapi_port)}, key_name, d.secret,
                           fo.name, timeout=3)[survivor]
    return SurvivorWatch(d.pair.conn(survivor), survivor, d.hosts[survivor].lease_path, read)
