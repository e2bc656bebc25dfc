"""What earlier runs of the wizard left on each host."""

from __future__ import annotations

from wizard.checks.base import Run, guarded


@guarded("leftovers")
def leftovers_check(run: Run, pair, role: str) -> None:
    """What earlier runs left on the host: a run in progress fails the check; a run being
    finished by its guard, stray uploads or old watchdogs warn (deploy deals with them)."""
    from wizard.ops.leftovers import scan

    conn = pair.conn(role)
    if conn is None:
        return
    facts = run.facts.get(role)
    config = getattr(getattr(facts, "config", None), "value", None)
    leases = getattr(getattr(facts, "leases", None), "value", None)
    found = scan(conn, role, config, leases)
    findings = found.findings()
    worst = "fail" if any(s == "fail" for s, _ in findings) else \
        "warn" if any(s == "warn" for s, _ in findings) else "pass"
    details = [t for s, t in findings if s == worst] or [f"{role}: nothing left by earlier runs"]
    fix = {"fail": "wait for the other run to finish (it holds the lock)",
           "warn": "`dhcp-wizard deploy` waits for or removes these before it changes anything"
           }.get(worst)
    run.add("leftovers", role, worst, "; ".join(details), fix)
