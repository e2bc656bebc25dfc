"""`dhcp-wizard protect tunnel`: the failover channel of a cross-site pair into WireGuard.

One transaction (wizard.ops.tunnel_transaction): keys made on each host, the tunnel up on
both, both configs' failover addresses moved onto the tunnel, dhcpd restarted, normal over
the tunnel; or, on any failure, both back as they were. Then the proof
(wizard.ops.tunnel_proof) that failover survives the underlay's failover ports being dropped.
`--remove` takes it back: configs onto the underlay addresses (the same transaction
machinery), then the tunnel down on both.
"""

from __future__ import annotations

import sys

from wizard.answers import load_answers
from wizard.commands.deploy import run_recorded
from wizard.errors import InputError
from wizard.roles import ROLES


def run(args) -> int:
    answers = load_answers(args.answers)
    if not args.remove and not answers.tunnel.addresses:
        from wizard.ops.tunnel_conf import ends

        ends(answers.tunnel, {})    # raises the message that says what to add
    body = _remove if args.remove else _protect
    return run_recorded(args, "protect-tunnel", lambda d, say: body(d, args, say))


# -- shared ------------------------------------------------------------------------------
def _confirm(args, what: str) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise InputError(f"protect tunnel {what} and needs a confirmation",
                         "review the plan above, then run again with --yes")
    reply = input(f"\n{what[0].upper() + what[1:]} now? Both servers will be restarted. [y/N] ")
    return reply.strip().lower() in ("y", "yes")


def _print_plan(d, plan) -> None:
    for note in plan.notes:
        print(f"  {note}")
    for f in plan.files:
        if f.changed:
            print(d.session.redactor.text(f.diff()))


# -- protect -----------------------------------------------------------------------------
def _protect(d, args, say) -> int:
    from wizard.flow import tunnel

    say.step("The pair and its hosts")
    tp = tunnel.read_hosts(d)
    for role in ROLES:
        print(f"  {tp.describe(role)}")
    say.step("Plan: the failover addresses onto the tunnel")
    tunnel.plan_configs(d, tp)
    if tp.in_place:
        print("  the tunnel is in place on both and the configs use it already")
        return _proof(d, tp.ends, say)
    plan = tp.plan
    _print_plan(d, plan)

    say.step("Before: the pair must be normal over the underlay")
    tunnel.require_normal(d, tp)
    print("  both peers normal")
    if not _confirm(args, "bring the tunnel up and move failover onto it"):
        print("Nothing was changed.")
        return 1

    say.step("Tunnel up, configs switched, dhcpd restarted, normal over the tunnel "
             "(one transaction)")
    sides = tunnel.sides(tp)
    result, tx = tunnel.apply_tunnel(d, tp, sides, args.handshake_timeout)
    for note in result.notes:
        print(f"  {note}")
    if not result.ok:
        print(f"\nFAILED ({result.phase}): {result.reason}")
        if result.rolled_back:
            print("Both servers were put back: their previous configs, the tunnel taken down "
                  "and its files removed, dhcpd running the old config.")
        after = tunnel.after_rollback(d, tp, result)
        print("  after the rollback: " + ", ".join(f"{r} {s}" for r, s in
                                                    after.states().items()))
        return 1
    print("  both peers normal over the tunnel, on the new config")
    tunnel.record(d, sides, plan, tx)
    for role in ROLES:
        print(f"  {role}: public key {sides[role].public_key}")
        if not sides[role].manager:
            print(f"  {role}: no systemd, so nothing brings {sides[role].end.interface} up at "
                  f"boot: add `{wsh_up(sides[role])}` to its boot scripts")
    for role, conns in tx.sockets.items():
        print(f"  {role}: failover connection " + "; ".join(f"{a} <-> {b}" for a, b in conns))
    return _proof(d, tp.ends, say, sides)


def wsh_up(side) -> str:
    from wizard.ops import tunnel_shell as wsh

    return wsh.up_command(side.end, side.impl, side.manager)


def _proof(d, tends, say, sides=None) -> int:
    from wizard.flow import tunnel

    say.step("Proof: failover runs only through the tunnel")
    result = tunnel.prove(d, tends, sides)
    for line in result.states:
        print(f"  {line}")
    if result.counters:
        print("  drop counters (packets; the test connection's SYNs among them): " + "; ".join(
            f"{r} {sum(c)}" for r, c in result.counters.items()))
    if not result.ok:
        print(f"\nFAILED (proof): {result.reason}")
        print("The tunnel stays in place; `protect tunnel --remove` takes it back.")
        return 1
    fo = d.answers.failover
    print(f"\nDONE: the pair is normal over the tunnel and stayed normal {result.held:.0f} s "
          "with the failover ports dropped on the underlay (longer than max-response-delay "
          f"{fo.max_response_delay} s); the drop is removed.")
    return 0


# -- remove ------------------------------------------------------------------------------
def _remove(d, args, say) -> int:
    from wizard.flow import tunnel
    from wizard.ops import tunnel_shell as wsh
    from wizard.ops.tunnel_conf import TunnelEnd

    say.step("The pair and its tunnel")
    d.connect()
    d.inspect()
    t = d.answers.tunnel
    probe = {r: TunnelEnd(r, "0.0.0.0/32", "", t.port, t.interface) for r in ROLES}
    found = tunnel.survey(d, probe)
    ours = [r for r in ROLES if "ours" in found[r].get("conf", [])]
    say.step("Plan: the failover addresses back onto the underlay")
    plan = d.plan()
    if not ours and not plan.changed:
        print("  no tunnel of dhcp-wizard on either host, and the configs use the underlay: "
              "nothing to remove")
        return 0
    _print_plan(d, plan)
    if not _confirm(args, "move failover back onto the underlay and take the tunnel down"):
        print("Nothing was changed.")
        return 1
    if plan.changed:
        say.step("Configs switched back, dhcpd restarted, normal over the underlay "
                 "(one transaction)")
        result = d.apply_plan(plan)
        for note in result.notes:
            print(f"  {note}")
        if not result.ok:
            print(f"\nFAILED ({result.phase}): {result.reason}")
            print("Both servers were put back on the tunnel config, which they run; the "
                  "tunnel was not touched." if result.rolled_back else "")
            return 1
        print("  both peers normal over the underlay")
    say.step("Tunnel down on both")
    bad = []
    for role in ROLES:
        impl = found[role].get("impl", ["kernel"])[0]
        manager = found[role].get("manager", [""])[0]
        res = d.pair.conn(role).run(wsh.down(probe[role], impl, manager, made_dir=False),
                                    privileged=True, timeout=30, label="wg down")
        print(f"  {role}: " + (f"{t.interface} down, its config and key removed" if res.ok
                               else f"could not take {t.interface} down: "
                               f"{(res.stdout + res.stderr).strip()[-200:]}"))
        if not res.ok:
            bad.append(role)
    if d.session is not None:
        d.session.event("tunnel", "removed", hosts=[r for r in ROLES if r not in bad],
                        failed=bad)
    if bad:
        print(f"\nFAILED: the tunnel is still up on {', '.join(bad)} (failover no longer uses "
              "it)")
        return 1
    print("\nDONE: failover runs over the underlay again; the tunnel is gone from both.")
    return 0
