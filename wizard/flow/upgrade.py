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
                 settle_timeout: float = 60.0):
        self.d, self.window, self.order = d, window, order
        self.settle_timeout = settle_timeout

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
            res = self.d.bring_back(resume, verify=self.window.verify)
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
                f"upgrade --answers FILE --resume {role}",
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
                        f"Once {role} answers SSH: `dhcp-wizard check --answers FILE` (both "
                        "normal, version parity); then run the upgrade again for the peers "
                        "it did not reach."]
            return [f"{role}'s dhcpd did not come back after the restart that starts the new "
                    f"release; {survivor} answers every client meanwhile "
                    "(communications-interrupted).",
                    f"Start {role}'s dhcpd (or put the old release back and start it); it "
                    "rejoins by itself, then run `dhcp-wizard check --answers FILE`."]
        if failed is not None and failed.name.startswith("recover-"):
            return [f"{survivor} serves every client (partner-down) while {role} returns.",
                    f"See what the drill said above; {role} was set to recover where it could "
                    "be, and rejoins by itself once it runs.",
                    "Re-run `dhcp-wizard check --answers FILE` to see where the pair stands."]
        return ["Both peers stayed in operation; nothing was upgraded on this peer.",
                "Fix what the pre-condition said, then run the upgrade again."]

    def _end(self, out: UpgradeOutcome) -> UpgradeOutcome:
        out.versions = {r: rec.as_dict() for r, rec in self.window.records.items()}
        self._event("result", ok=out.ok, summary=out.summary, upgraded=out.upgraded,
                    left_out=out.left_out, advice=out.advice, versions=out.versions)
        return out
