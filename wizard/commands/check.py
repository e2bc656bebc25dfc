"""`dhcp-wizard check`: pre-flight and upgrade checks of a pair; changes nothing.

Exit 0 when nothing blocks (warnings and most skips included), 1 when something does (a
failed check, or checks that did not run to the end), 2 for bad
input. Human output is one line per check, its verdict first; --json is cli.md's format.
"""

from __future__ import annotations

import json
import sys

from wizard.answers import load_answers
from wizard.remote.ssh_config import check_ssh_targets
from wizard.record.session import Session

MARKS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "skip": "SKIP"}


def run(args) -> int:
    from wizard.checks.engine import run_checks
    from wizard.checks.registry import BLOCK, spec
    from wizard.commands.prompts import secret_prompt
    from wizard.flow.policy import acceptance_hint, judge

    answers = load_answers(args.answers)
    check_ssh_targets(answers)
    session = Session.create(args.session, command="check")
    with session:
        session.event("check", "inputs", answers=answers.source,
                      primary=answers.primary.host, secondary=answers.secondary.host)
        results = run_checks(answers, session, passphrase=secret_prompt())
        gate = judge(results)
        passed = not gate.reasons
        session.event("check", "done", ok=passed,
                      counts={s: sum(r.status == s for r in results) for s in MARKS})
    out = sys.stdout
    if args.json:
        json.dump({"ok": passed, "checks": [r.as_dict() for r in results],
                   "needs_acceptance": list(gate.keys),
                   "session": str(session.path)}, out, indent=2)
        out.write("\n")
    else:
        for r in results:
            host = f" [{r.host}]" if r.host else ""
            out.write(f"{MARKS[r.status]}  {r.id}{host}: {r.detail}\n")
            if r.fix:
                out.write(f"      {'fix' if r.status in ('fail', 'warn') else 'note'}: "
                          f"{r.fix}\n")
        failed = sum(r.status == "fail" for r in results)
        # Failures the registry lets a deployment go past (exposure: the firewall's, which a
        # deployment does not change) are said as such, not hidden behind the OK.
        unblocking = sorted({r.id for r in results if r.status == "fail"
                             and spec(r.id).fail != BLOCK})
        said = (f"{failed} failed ({', '.join(unblocking)}: not blocking a deployment, see "
                "the fixes)" if passed and unblocking else f"{failed} failed")
        out.write(f"\n{'OK' if passed else 'FAILED'}: {len(results)} checks, {said}; "
                  f"session recorded in {session.path}\n")
        if passed and gate.warnings:
            out.write(f"{len(gate.warnings)} warning(s) need a decision before a deployment: "
                      f"the wizard's tick box, or deploy {acceptance_hint(gate)}\n")
    return 0 if passed else 1
