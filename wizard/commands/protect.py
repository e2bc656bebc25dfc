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
    session = Session.create(args.session, command="protect firewall"
                             + (" --remove" if getattr(args, "remove", False) else ""))
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
            roles = ("primary", "secondary") if args.test_cut_ssh == "both" \
                else (args.test_cut_ssh,)
            extra = {r: ((22, pair.conn(r).local_address),) for r in roles}
        job = Protect(answers, pair, session, reconnect, args.confirm_timeout, extra,
                      progress=lambda m: print(m, file=sys.stderr))
        if getattr(args, "remove", False):
            return _remove(job, args, session)
        diffs = job.prepare()
        _show_found(job)
        for role, d in diffs.items():
            print(d if d else f"{role}: dhcp-wizard's rules already in place, unchanged")
        if any(diffs.values()) and not _agreed(args, session, "apply these rules?"):
            print("not applied")
            return 1
        outcome = job.apply(diffs)
        session.event("protect", "done", ok=outcome.ok, message=outcome.message)
    return _told(outcome, session)


def _told(outcome, session) -> int:
    print(("OK: " if outcome.ok else "FAILED: ") + outcome.message)
    print(f"session recorded in {session.path}")
    return 0 if outcome.ok else 1


def _show_found(job) -> None:
    for role, det in job.found.items():
        print(f"{role}: {det.detail} (rules as: {job.backends[role].name})")
        for port, effect in det.effects.items():
            print(f"    {port}: {effect}")


def _agreed(args, session, question: str) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise InputError("not done: no terminal to ask on",
                         "review the changes above and run again with --yes")
    if input(f"{question} [y/N] ").strip().lower() in ("y", "yes"):
        return True
    session.event("protect", "declined")
    return False


def _remove(job, args, session) -> int:
    """`protect firewall --remove`: what goes is shown first; nothing of ours is exit 0."""
    diffs = job.prepare_removal()
    _show_found(job)
    for role, d in diffs.items():
        print(d if d else f"{role}: nothing of dhcp-wizard's here")
    if any(diffs.values()) and not _agreed(args, session, "remove these rules?"):
        print("not removed")
        return 1
    outcome = job.remove(diffs)
    session.event("protect", "done", ok=outcome.ok, message=outcome.message, action="remove")
    return _told(outcome, session)
