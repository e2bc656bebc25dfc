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
from wizard.errors import InputError, OperationFailed
from wizard.roles import ROLES


def run(args) -> int:
    answers = load_answers(args.answers)
    if not args.remove and not answers.tunnel.addresses:
        from wizard.ops.tunnel_conf import ends

        ends(answers.tunnel, {})    # raises the message that says what to add
    body = _remove if args.remove else _protect
    return run_recorded(args, "protect-tunnel", lambda d, say: body(d, args, say))


# -- shared ------------------------------------------------------------------------------
def _underlay(d) -> dict[str, str]:
    """Each peer's failover address before the tunnel: the answers', else the address SSH
    reached (as the deployment chose it)."""
    fo = d.answers.failover
    given = {"primary": fo.primary_address, "secondary": fo.secondary_address}
    return {r: given[r] or d.hosts[r].address for r in ROLES}


def _survey(d, tends) -> dict[str, dict[str, list[str]]]:
    from wizard.ops import tunnel_shell as wsh

    found = {}
    for role in ROLES:
        res = d.pair.conn(role).run(wsh.inspect(tends[role]), privileged=True, timeout=20,
                                    label="wg inspect")
        if not res.ok:
            raise OperationFailed(f"{role}: cannot inspect its WireGuard "
                                  f"({res.stderr.strip()[-200:]})")
        found[role] = wsh.parse_inspect(res.stdout)
    return found


def _ports(d) -> list[int]:
    fo = d.answers.failover
    return [fo.primary_port, fo.secondary_port]


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
    from dataclasses import replace

    from wizard.ops.tunnel_conf import ends

    say.step("The pair and its hosts")
    d.connect()
    d.inspect()
    underlay = _underlay(d)
    tends = ends(d.answers.tunnel, underlay)
    found = _survey(d, tends)
    for role in ROLES:
        impl = found[role].get("impl", ["none"])[0]
        manager = found[role].get("manager", [""])[0]
        print(f"  {role}: WireGuard {'in the kernel' if impl == 'kernel' else impl}"
              + (" (wireguard-go: this kernel has no wireguard module)" if impl == "userspace"
                 else "") + f"; {'systemd' if manager else 'no systemd: wg-quick by hand'}; "
              f"underlay {underlay[role]}, tunnel {tends[role].address} on "
              f"{tends[role].interface}")
    ours = [r for r in ROLES if "ours" in found[r].get("conf", [])]

    tunneled = d.answers.with_changes("failover", primary_address=tends["primary"].ip,
                                      secondary_address=tends["secondary"].ip)
    original = d.answers
    d.answers = tunneled
    say.step("Plan: the failover addresses onto the tunnel")
    plan = d.plan()
    if ours and len(ours) == len(ROLES) and not plan.changed:
        print("  the tunnel is in place on both and the configs use it already")
        return _proof(d, tends, say)
    if ours:
        raise OperationFailed(f"{', '.join(ours)}: a tunnel of dhcp-wizard is there already, "
                              "but the pair does not use it throughout",
                              "take it back with `protect tunnel --remove`, then run again")
    _print_plan(d, plan)

    say.step("Before: the pair must be normal over the underlay")
    d.answers = original
    waited = d.wait_normal(timeout=10)
    d.answers = tunneled
    if not waited.ok:
        raise OperationFailed("the pair is not normal (" + ", ".join(
            f"{r} {s}" for r, s in waited.states().items()) + "): the tunnel would start from "
            "a broken pair", "deploy failover first (`dhcp-wizard deploy`), or fix the pair")
    print("  both peers normal")
    if not _confirm(args, "bring the tunnel up and move failover onto it"):
        print("Nothing was changed.")
        return 1

    say.step("Tunnel up, configs switched, dhcpd restarted, normal over the tunnel "
             "(one transaction)")
    sides = _sides(tends, found)
    result, tx = _apply(d, plan, sides, args)
    for note in result.notes:
        print(f"  {note}")
    if not result.ok:
        print(f"\nFAILED ({result.phase}): {result.reason}")
        if result.rolled_back:
            print("Both servers were put back: their previous configs, the tunnel taken down "
                  "and its files removed, dhcpd running the old config.")
        d.answers = original
        after = d.wait_normal(timeout=d.normal_timeout())
        print("  after the rollback: " + ", ".join(f"{r} {s}" for r, s in
                                                    after.states().items()))
        if d.session is not None:
            d.session.event("tunnel", "rolled-back", phase=result.phase, reason=result.reason,
                            normal_after=after.ok, states=after.states())
        return 1
    print("  both peers normal over the tunnel, on the new config")
    _record(d, sides, plan, tx)
    for role in ROLES:
        print(f"  {role}: public key {sides[role].public_key}")
        if not sides[role].manager:
            print(f"  {role}: no systemd, so nothing brings {sides[role].end.interface} up at "
                  f"boot: add `{wsh_up(sides[role])}` to its boot scripts")
    for role, conns in tx.sockets.items():
        print(f"  {role}: failover connection " + "; ".join(f"{a} <-> {b}" for a, b in conns))
    return _proof(d, tends, say, sides)


def wsh_up(side) -> str:
    from wizard.ops import tunnel_shell as wsh

    return wsh.up_command(side.end, side.impl, side.manager)


def _sides(tends, found):
    from wizard.ops.tunnel_transaction import TunnelSide

    other = {"primary": "secondary", "secondary": "primary"}
    return {r: TunnelSide(tends[r], tends[other[r]], found[r].get("impl", ["none"])[0],
                          found[r].get("manager", [""])[0], "present" not in found[r].get(
                              "dir", [])) for r in ROLES}


def _apply(d, plan, sides, args):
    from wizard.ops.transaction import SETTLE, FileChange, HostTarget
    from wizard.ops.tunnel_transaction import HANDSHAKE_TIMEOUT, TunnelTransaction
    from wizard.remote import shell as remote_sh

    targets = {}
    for role in ROLES:
        info = d.hosts[role]
        files = [FileChange(f.path, f.before, f.after) for f in plan.files if f.role == role]
        targets[role] = HostTarget(role, d.pair.conn(role), info.config_path, info.lease_path,
                                   info.restart, files, dhcpd=info.dhcpd)

    def log_reader(role: str) -> str:
        return d.pair.conn(role).run(remote_sh.dhcpd_log_tail(), privileged=True,
                                     label="dhcpd log").stdout

    d.clear_leftovers(d.cancel)
    fo = d.answers.failover
    tx = TunnelTransaction(
        targets, sides, handshake_timeout=args.handshake_timeout or HANDSHAKE_TIMEOUT,
        failover_ports=_ports(d), states_reader=d.state_reader(plan.secret),
        normal_timeout=d.normal_timeout(), session=d.session, progress=d.progress,
        cancel=d.cancel, reconnect=d.reconnect, log_reader=log_reader,
        max_response_delay=fo.max_response_delay,
        settle=d.settle if d.settle is not None else SETTLE, command="protect-tunnel")
    return tx.run(), tx


def _record(d, sides, plan, tx) -> None:
    """The evidence: public keys, the wg-quick files (no private key is in them), the config
    diffs and the failover connections seen on the tunnel."""
    s = d.session
    if s is None:
        return
    s.event("tunnel", "keys", **{r: {"public_key": sides[r].public_key,
                                     "implementation": sides[r].impl,
                                     "manager": sides[r].manager or "wg-quick",
                                     "address": sides[r].end.address,
                                     "endpoint": sides[r].end.endpoint} for r in ROLES})
    for role in ROLES:
        s.artifact(f"tunnel-{role}.conf", sides[role].conf, step="tunnel", host=role,
                   path=sides[role].end.conf_path)
    for f in plan.files:
        if f.changed:
            s.artifact(f"tunnel-{f.role}-{f.path.rsplit('/', 1)[-1]}.diff",
                       s.redactor.text(f.diff()), step="tunnel", host=f.role, path=f.path)
    s.event("tunnel", "over-tunnel", sockets={r: [list(c) for c in v]
                                              for r, v in tx.sockets.items()})


def _proof(d, tends, say, sides=None) -> int:
    from wizard.ops.tunnel_proof import prove
    from wizard.ops.tunnel_transaction import TunnelSide

    say.step("Proof: failover runs only through the tunnel")
    if sides is None:
        other = {"primary": "secondary", "secondary": "primary"}
        sides = {r: TunnelSide(tends[r], tends[other[r]], "", "", False) for r in ROLES}
    fo = d.answers.failover
    conns = {r: d.pair.conn(r) for r in ROLES}
    result = prove(conns, sides, _ports(d), d.state_reader(), fo.max_response_delay,
                   progress=d.progress, cancel=d.cancel)
    if d.session is not None:
        d.session.event("tunnel", "proof", **result.as_dict())
    for line in result.states:
        print(f"  {line}")
    if result.counters:
        print("  drop counters (packets; the test connection's SYNs among them): " + "; ".join(
            f"{r} {sum(c)}" for r, c in result.counters.items()))
    if not result.ok:
        print(f"\nFAILED (proof): {result.reason}")
        print("The tunnel stays in place; `protect tunnel --remove` takes it back.")
        return 1
    print(f"\nDONE: the pair is normal over the tunnel and stayed normal {result.held:.0f} s "
          "with the failover ports dropped on the underlay (longer than max-response-delay "
          f"{fo.max_response_delay} s); the drop is removed.")
    return 0


# -- remove ------------------------------------------------------------------------------
def _remove(d, args, say) -> int:
    from wizard.ops import tunnel_shell as wsh
    from wizard.ops.tunnel_conf import TunnelEnd

    say.step("The pair and its tunnel")
    d.connect()
    d.inspect()
    t = d.answers.tunnel
    probe = {r: TunnelEnd(r, "0.0.0.0/32", "", t.port, t.interface) for r in ROLES}
    found = _survey(d, probe)
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
