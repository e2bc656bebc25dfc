"""The upgrade screen's words, as plain functions of what the flow reports (unit-tested):
which peer is out, what the operator is asked, and what state the pair is left in."""

from __future__ import annotations

from wizard.roles import OTHER

# The drill and upgrade steps, as the operator reads them (the progress step names).
STEP_NAMES = {
    "order": "the order, and why",
    "precondition": "both peers normal before the peer goes",
    "settled-primary": "no binding update in flight",
    "settled-secondary": "no binding update in flight",
    "upgrade": "taking the next peer out of service",
    "shutdown-primary": "primary shut down; secondary serves everyone",
    "shutdown-secondary": "secondary shut down; primary serves everyone",
    "service": "a real client gets an address from the survivor",
    "window": "the upgrade window",
    "window-primary": "primary's window: version, dhcpd -t, lint",
    "window-secondary": "secondary's window: version, dhcpd -t, lint",
    "verify-primary": "primary checked: version, dhcpd -t, lint",
    "verify-secondary": "secondary checked: version, dhcpd -t, lint",
    "recover-primary": "primary back; both normal again",
    "recover-secondary": "secondary back; both normal again",
    "reconcile": "a peer restarted while shut down rejoins without waiting out MCLT",
    "reconcile-primary": "primary back through conflict resolution; both normal again",
    "reconcile-secondary": "secondary back through conflict resolution; both normal again",
    "restarting": "restarting the peer's dhcpd onto the new release",
    "restart-primary": "primary restarted in service",
    "restart-secondary": "secondary restarted in service",
    "release-primary": "primary already runs the new release (its window restarted it)",
    "release-secondary": "secondary already runs the new release (its window restarted it)",
    "running": "the release that runs now",
    "rebalance": "the pool rebalance between the peers",
    "resume": "bringing the left-out peer back",
    "post-flight": "post-flight check",
    "cancelled": "cancelled: putting the peer back into operation",
}


def out_of_service(step: str, text: str) -> str | None:
    """The role a window progress line says is out of service now, or None.
    ('window', 'secondary is out of service: ...') and ('window', 'secondary: running ...')."""
    if step != "window":
        return None
    first = text.split(" ", 1)[0].rstrip(":")
    return first if first in OTHER else None


def window_prompt(role: str, host: str) -> str:
    return (f"Upgrade {role} ({host}) now; press Continue when done. {OTHER[role]} serves "
            f"every client alone meanwhile (partner-down). Stop leaves {role} out of service "
            f"and {OTHER[role]} serving.")


def versions_lines(outcome) -> list[str]:
    out = []
    for role in outcome.order:
        rec = outcome.versions.get(role, {})
        out.append(f"{role:<9} dhcpd {rec.get('before') or '?'} -> {rec.get('after') or '?'}"
                   + ("" if role in outcome.upgraded else "  (not upgraded)"))
    return out


def pair_left(outcome) -> str:
    """One sentence on the state the pair is left in after a run that ended."""
    if outcome.left_out:
        role = outcome.left_out
        return (f"{role} is left out of service (failover state shutdown, serving no one); "
                f"{OTHER[role]} serves every client alone (partner-down). Both are never "
                "down together.")
    if outcome.ok:
        return "both peers are in operation (normal)."
    return f"the upgrade stopped: {outcome.summary}"


def quit_words(outcome, answers_path: str) -> str:
    """What the wizard prints as it quits after an upgrade run: the state, and what to do."""
    lines = [f"dhcp-wizard upgrade: {pair_left(outcome)}"]
    if outcome.left_out:
        lines += [f"  - {a}" for a in outcome.advice]
    elif not outcome.ok and outcome.advice:
        lines += [f"  - {a}" for a in outcome.advice]
    if not outcome.ok and not outcome.left_out:
        lines.append(f"  Run `dhcp-wizard check --answers {answers_path}` to see where the "
                     "pair stands.")
    return "\n".join(lines)


def quit_question(out: str | None, waiting: bool) -> str:
    """The quit dialog's text while an upgrade runs: the state now, and what each of its
    buttons does. There is no "quit at once": the worker would go on without a screen (the
    drill's runs to its end; a pause would wait for ever), so quitting always goes through
    putting the peer back, or through leaving it out with its partner serving."""
    if out is None:
        return ("The rolling upgrade is running; no peer is out of service at this moment.\n"
                "- Stop, quit (recommended): the peer in progress is finished, the next one "
                "is not started, and the wizard quits with both in operation.")
    survivor = OTHER[out]
    text = [f"{out} is out of service right now; {survivor} serves every client alone "
            "(partner-down).",
            f"- Bring back, quit (recommended): {out} is checked as it is now (after its "
            "upgrade command ends, if one runs: version, dhcpd -t, lint) and returned to "
            "normal; the next peer is not started."]
    if waiting:
        text.append(f"- Leave out, quit: {out} stays out of service, {survivor} keeps "
                    "serving, and the wizard says how to resume.")
    text.append(f"Should the wizard die instead, the guard on {out} puts it back into "
                "operation by itself.")
    return "\n".join(text)
