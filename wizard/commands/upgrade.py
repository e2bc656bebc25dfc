"""`dhcp-wizard upgrade`: the rolling upgrade of a running pair (wizard.flow.upgrade).

pre-flight check -> for each peer, in order: out of service, the upgrade in the window,
back without an MCLT wait, normal, rebalance -> post-flight check with version parity.
Exit 0 only when both peers run the new release and are normal; 1 otherwise, with the
survivor serving every client and the output saying what to do.
"""

from __future__ import annotations

import sys

from wizard.commands.deploy import checks_pass, print_results, run_recorded
from wizard.errors import InputError

def run(args) -> int:
    from wizard.flow.upgrade import parse_order

    order = parse_order(args.order)
    if args.upgrade_command is None and not sys.stdin.isatty():
        raise InputError("upgrade without --command pauses at each peer for you to upgrade "
                         "it, which needs a terminal",
                         'give the upgrade as --command "..." (run on each peer while it is '
                         "out of service), or run it at a terminal")
    return run_recorded(args, "upgrade", lambda d, say: _upgrade(d, say, args, order))


def _upgrade(d, say, args, order) -> int:
    from wizard.flow.upgrade import RollingUpgrade, make_window, post_flight, preflight

    say.step("Pre-flight: both servers, clocks, networks, firewalls (check)")
    results, expected, _gate = preflight(d.check(), args.resume)
    for r in expected:
        print(f"  note: {r.id}{f' [{r.host}]' if r.host else ''}: {r.detail} "
              "(expected while resuming)")
    if not checks_pass(d.session, results, set(args.accept or ())):
        return 1
    d.inspect()
    plan = d.plan()    # the OMAPI key in use comes from the live configs
    if plan.changed:
        print("  note: the live configs differ from what these answers would deploy; the "
              "upgrade leaves them as they are")
    how = (f"runs `{args.upgrade_command}` on it" if args.upgrade_command else
           "pauses for you to upgrade it")
    print(f"\n  Each peer in turn ({', '.join(order)}) is shut down gracefully; its partner "
          f"serves every client meanwhile; the wizard {how}, checks the new dhcpd against "
          "its config, restarts it and brings it back.")
    if not args.yes:
        if not sys.stdin.isatty():
            raise InputError("upgrade takes each server out of service in turn and needs a "
                             "confirmation", "run it with --yes")
        if input("  Go on? [y/N] ").strip().lower() not in ("y", "yes"):
            print("Nothing was changed.")
            return 1

    window = make_window(d, command=args.upgrade_command, operator_done=_ask_operator,
                         timeout=args.command_timeout,
                         progress=lambda step, msg: say("upgrade", step, msg))
    say.step("Rolling upgrade, one peer at a time")
    outcome = RollingUpgrade(d, window, order, answers_path=args.answers).run(
        resume=args.resume)
    print()
    for role in order:
        rec = outcome.versions.get(role, {})
        print(f"  {role:<9} dhcpd {rec.get('before') or '?'} -> {rec.get('after') or '?'}"
              f"{'' if role in outcome.upgraded else '  (not upgraded)'}")
    if not outcome.ok:
        print(f"\nFAILED: {outcome.summary}")
        for line in outcome.advice:
            print(f"  - {line}")
        return 1

    say.step("Post-flight: check, with version parity")
    post = post_flight(d)
    print_results(post.results)
    if not post.ok:
        print("\nFAILED: the peers are back in operation, but the post-flight check above "
              "is not clean")
        return 1
    print(f"\nDONE: {outcome.summary}; {post.parity}")
    return 0


def _ask_operator(role: str) -> bool:
    try:
        reply = input(f"\n  {role} is out of service; its partner serves every client. "
                      f"Upgrade {role} now, then press Enter to bring it back "
                      "(or type stop to leave it out of service): ")
    except EOFError:
        return False
    return reply.strip().lower() != "stop"
