"""`dhcp-wizard protect ACTION`: one function per action (firewall here; others beside it)."""

from __future__ import annotations

import sys

from wizard.answers import load_answers
from wizard.errors import InputError
from wizard.record.session import Session
from wizard.remote.ssh_config import check_ssh_targets


def run(args) -> int:
    actions = {"firewall": firewall}
    return actions[args.protect_command](args)


def firewall(args) -> int:
    from wizard.commands.prompts import secret_prompt
    from wizard.ops.firewall_apply import Protect
    from wizard.remote.ssh import Pair, connect

    answers = load_answers(args.answers)
    check_ssh_targets(answers)
    passphrase = secret_prompt()
    session = Session.create(args.session, command="protect firewall")
    with session, Pair(answers, session=session,
                                         passphrase=passphrase) as pair:
        missing = [r for r in ("primary", "secondary") if pair.conn(r) is None]
        if missing:
            raise InputError(f"cannot log in to {', '.join(missing)}: "
                             + "; ".join(str(pair.errors[r]) for r in missing),
                             "run `dhcp-wizard check` and fix the SSH login first")

        def reconnect(role):
            return connect(role, pair.targets[role], sudo=answers.host(role).sudo,
                           session=session, passphrase=passphrase, timeout=5)

        extra = {}
        if args.test_cut_ssh:
            extra = {r: (f"\t\ttcp dport 22 ip saddr {pair.conn(r).local_address} drop "
                         'comment "test only: cuts the wizard"',) for r in ("primary",)}
        job = Protect(answers, pair, session, reconnect, args.confirm_timeout, extra,
                      progress=lambda m: print(m, file=sys.stderr))
        diffs = job.prepare()
        for role, det in job.found.items():
            print(f"{role}: {det.detail}")
            for port, effect in det.effects.items():
                print(f"    {port}: {effect}")
        for role, d in diffs.items():
            print(d if d else f"{role}: dhcp-wizard's rules already in place, unchanged")
        if any(diffs.values()) and not args.yes:
            if not sys.stdin.isatty():
                raise InputError("not applied: no terminal to ask on",
                                 "review the diff above and run again with --yes")
            if input("apply these rules? [y/N] ").strip().lower() not in ("y", "yes"):
                session.event("protect", "declined")
                print("not applied")
                return 1
        outcome = job.apply(diffs)
        session.event("protect", "done", ok=outcome.ok, message=outcome.message)
    print(("OK: " if outcome.ok else "FAILED: ") + outcome.message)
    print(f"session recorded in {session.path}")
    return 0 if outcome.ok else 1
