"""`dhcp-wizard deploy`: the whole guide without the TUI.

check -> plan -> confirm -> transactional apply -> wait for normal -> drill -> back in
operation. Exit 0 only when both peers end normal (and the drill passed when it ran); 1
otherwise, with both peers left on a valid, running config.
"""

from __future__ import annotations

import sys
import threading
import time

from wizard.answers import load_answers
from wizard.commands.check import MARKS
from wizard.commands.prompts import secret_prompt
from wizard.errors import InputError
from wizard.record.session import Session


class Printer:
    """Progress lines with the time since the start; safe to call from worker threads.

    A lost terminal (SIGHUP) must not stop a rollback: writes that fail are dropped, the
    session still records everything."""

    def __init__(self, out=sys.stdout):
        self.out, self.t0, self.lock = out, time.monotonic(), threading.Lock()

    def _write(self, text: str) -> None:
        with self.lock:
            try:
                self.out.write(text)
                self.out.flush()
            except (OSError, ValueError):
                pass

    def step(self, title: str) -> None:
        self._write(f"\n== {title}\n")

    def __call__(self, role: str, step: str, msg: str) -> None:
        self._write(f"{time.monotonic() - self.t0:7.2f}s  {role:<9} {step:<10} {msg}\n")


def run_recorded(args, command: str, body) -> int:
    """Load the answers, open a session and a Deployment, run body(deployment, printer);
    the session is closed with the real exit code whatever happens. SIGINT, SIGTERM and
    SIGHUP cancel the operation, which then puts both servers back before we exit."""
    from wizard.flow.deployment import Deployment
    from wizard.interrupt import CancelToken, signals_cancel

    from wizard.remote.ssh_config import check_ssh_targets

    answers = load_answers(args.answers)
    check_ssh_targets(answers)
    say = Printer()
    session = Session.create(args.session, command=command)
    token = CancelToken()
    code, status = 1, "failed"
    try:
        with signals_cancel(token), \
                Deployment(answers, session, progress=say, passphrase=secret_prompt(),
                           normal_timeout=getattr(args, "normal_timeout", None),
                           settle=getattr(args, "settle", None), cancel=token) as d:
            code = body(d, say)
        status = "done" if code == 0 else "failed"
    except KeyboardInterrupt:
        code, status = 130, "interrupted"
        raise
    finally:
        if token.is_set() and token.signum:
            code, status = token.exit_code, "interrupted"
            session.event("session", "interrupted", reason=token.reason, exit_code=code)
        session.close(status, exit_code=code)
        say._write(f"\nsession recorded in {session.path}\n")
    return code


def run(args) -> int:
    return run_recorded(args, "deploy", lambda d, say: _deploy(d, args, say))


def _deploy(d, args, say: Printer) -> int:
    say.step("Steps 1-4: servers, clocks, networks, firewalls (check)")
    results = d.check()
    if not checks_pass(d.session, results, set(args.accept or ())):
        return 1

    say.step("Steps 5-7: failover peers, pool references, OMAPI key (plan)")
    d.inspect()
    plan = d.plan()
    for note in plan.notes:
        print(f"  {note}")
    for f in plan.files:
        if f.changed:
            print(d.session.redactor.text(f.diff()) if d.session else "(diff hidden)")
    print(f"  OMAPI key: {plan.secret_origin}")
    if plan.changed and not args.yes:
        if not sys.stdin.isatty():
            raise InputError("deploy changes both servers and needs a confirmation",
                             "review the plan (`dhcp-wizard plan`), then run with --yes")
        reply = input("\nApply this to both servers now? Both will be restarted. [y/N] ")
        if reply.strip().lower() not in ("y", "yes"):
            print("Nothing was changed.")
            return 1

    say.step("Step 8: restart with the new configuration (apply)")
    if not plan.changed:
        print("  the servers already run this configuration; nothing to change")
    result = d.apply_plan(plan)
    for note in result.notes:
        print(f"  {note}")
    if not result.ok:
        print(f"\nFAILED ({result.phase}): {result.reason}")
        print("Both servers were rolled back to their previous configuration and run it."
              if result.rolled_back else "")
        return 1
    if not result.changed:
        print("  both peers are normal")
    else:
        print(f"  both peers normal {result.waited:.1f} s after the restarts began"
              if result.waited is not None else "  done")

    if args.no_drill:
        print("\nDONE: both peers are normal (drill skipped with --no-drill).")
        return 0
    say.step("Steps 9-10: failover test and back in operation (drill)")
    drill = d.drill()
    print(f"\n{'DONE' if drill.passed else 'FAILED'}: {drill.summary}")
    return 0 if drill.passed else 1


def print_results(results) -> None:
    for r in results:
        host = f" [{r.host}]" if r.host else ""
        print(f"  {MARKS[r.status]}  {r.id}{host}: {r.detail}")
        if r.fix and r.status in ("fail", "warn"):
            print(f"        fix: {r.fix}")


def checks_pass(session, results, accepted: set[str]) -> bool:
    """Print the results and judge them as every front end does; False (with what to do)
    when something blocks, or a warning waits for the operator's decision."""
    from wizard.flow.policy import acceptance_hint, judge, record_acceptance

    print_results(results)
    gate = judge(results)
    if gate.reasons:
        print("\nFAILED: fix the checks above first; nothing was changed.")
        return False
    if not gate.open(accepted):
        print("\nFAILED: these warnings need your decision before anything changes:")
        for w in gate.unaccepted(accepted):
            print(f"  - {w.key}{f' [{w.host}]' if w.host else ''}: {w.text}")
        print(f"Fix them, or go on past them with {acceptance_hint(gate, accepted)} "
              "(recorded in the session). Nothing was changed.")
        return False
    _record_accepted(session, results, accepted, record_acceptance)
    return True


def _record_accepted(session, results, accepted, record) -> None:
    """Each step's accepted warnings, recorded as the wizard's tick box records them."""
    from wizard.checks.registry import spec
    from wizard.flow.policy import judge

    for step in dict.fromkeys(spec(r.id).step for r in results):
        record(session, step, judge(results, step), accepted)
