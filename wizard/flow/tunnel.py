"""`protect tunnel`'s stages, for `dhcp-wizard protect tunnel` and the wizard's protection
step alike: what the tunnel would be (survey and plan), the one transaction that brings it up
with the configs that use it, its evidence, and the proof that failover runs only through it.

Blocking and UI-free; nothing here prints (the command prints, the TUI shows). The
Deployment's answers are switched between the underlay's and the tunnel's failover
addresses exactly where the command switched them, and left on the underlay's afterwards
unless the tunnel is in use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wizard.errors import OperationFailed
from wizard.roles import OTHER, ROLES


@dataclass
class TunnelPlan:
    underlay: dict[str, str]               # role -> failover address before the tunnel
    ends: dict                             # role -> TunnelEnd
    found: dict[str, dict[str, list[str]]]  # role -> tunnel_shell.inspect, parsed
    plan: object                           # PairPlan: the configs on the tunnel addresses
    original: object                       # the answers on the underlay
    tunneled: object                       # the same, failover on the tunnel addresses
    ours: list[str] = field(default_factory=list)   # hosts with a tunnel of ours already

    @property
    def in_place(self) -> bool:
        return len(self.ours) == len(ROLES) and not self.plan.changed

    def describe(self, role: str) -> str:
        """One line per host: the WireGuard it has, how the tunnel comes up there, the ends."""
        found, end = self.found[role], self.ends[role]
        impl = found.get("impl", ["none"])[0]
        manager = found.get("manager", [""])[0]
        return (f"{role}: WireGuard {'in the kernel' if impl == 'kernel' else impl}"
                + (" (wireguard-go: this kernel has no wireguard module)" if impl == "userspace"
                   else "") + f"; {'systemd' if manager else 'no systemd: wg-quick by hand'}; "
                f"underlay {self.underlay[role]}, tunnel {end.address} on {end.interface}")


def underlay(d) -> dict[str, str]:
    """Each peer's failover address before the tunnel: the answers', else the address SSH
    reached (as the deployment chose it)."""
    fo = d.answers.failover
    given = {"primary": fo.primary_address, "secondary": fo.secondary_address}
    return {r: given[r] or d.hosts[r].address for r in ROLES}


def survey(d, tends) -> dict[str, dict[str, list[str]]]:
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


def ports(d) -> list[int]:
    fo = d.answers.failover
    return [fo.primary_port, fo.secondary_port]


def read_hosts(d) -> TunnelPlan:
    """Connect and read both hosts: where the tunnel's ends go and what WireGuard each has.
    The configs are not planned yet (plan_configs)."""
    from wizard.ops.tunnel_conf import ends

    d.connect()
    d.inspect()
    under = underlay(d)
    tends = ends(d.answers.tunnel, under)
    found = survey(d, tends)
    ours = [r for r in ROLES if "ours" in found[r].get("conf", [])]
    original = d.answers
    tunneled = original.with_changes("failover", primary_address=tends["primary"].ip,
                                     secondary_address=tends["secondary"].ip)
    return TunnelPlan(under, tends, found, None, original, tunneled, ours)


def plan_configs(d, tp: TunnelPlan) -> TunnelPlan:
    """Both configs with failover on the tunnel addresses; raises what stands in the way (a
    tunnel of ours used only half-way). Leaves d on the tunnel's answers, as the apply
    needs them."""
    d.answers = tp.tunneled
    tp.plan = d.plan()
    if tp.ours and not tp.in_place:
        raise OperationFailed(f"{', '.join(tp.ours)}: a tunnel of dhcp-wizard is there already, "
                              "but the pair does not use it throughout",
                              "take it back with `protect tunnel --remove`, then run again")
    return tp


def plan_tunnel(d) -> TunnelPlan:
    return plan_configs(d, read_hosts(d))


def require_normal(d, tp: TunnelPlan) -> None:
    """The tunnel starts only from a pair that is normal over the underlay."""
    d.answers = tp.original
    waited = d.wait_normal(timeout=10)
    d.answers = tp.tunneled
    if not waited.ok:
        raise OperationFailed("the pair is not normal (" + ", ".join(
            f"{r} {s}" for r, s in waited.states().items()) + "): the tunnel would start from "
            "a broken pair", "deploy failover first (`dhcp-wizard deploy`), or fix the pair")


def sides(tp: TunnelPlan):
    from wizard.ops.tunnel_transaction import TunnelSide

    return {r: TunnelSide(tp.ends[r], tp.ends[OTHER[r]], tp.found[r].get("impl", ["none"])[0],
                          tp.found[r].get("manager", [""])[0], "present" not in tp.found[r].get(
                              "dir", [])) for r in ROLES}


def apply_tunnel(d, tp: TunnelPlan, the_sides, handshake_timeout: float | None = None):
    """The one transaction: (ApplyResult, TunnelTransaction). Runs on the tunnel's answers."""
    from wizard.ops.transaction import SETTLE, FileChange, HostTarget
    from wizard.ops.tunnel_transaction import HANDSHAKE_TIMEOUT, TunnelTransaction
    from wizard.remote import shell as remote_sh

    d.answers = tp.tunneled
    targets = {}
    for role in ROLES:
        info = d.hosts[role]
        files = [FileChange(f.path, f.before, f.after) for f in tp.plan.files if f.role == role]
        targets[role] = HostTarget(role, d.pair.conn(role), info.config_path, info.lease_path,
                                   info.restart, files, dhcpd=info.dhcpd)

    def log_reader(role: str) -> str:
        return d.pair.conn(role).run(remote_sh.dhcpd_log_tail(), privileged=True,
                                     label="dhcpd log").stdout

    d.clear_leftovers(d.cancel)
    fo = d.answers.failover
    tx = TunnelTransaction(
        targets, the_sides, handshake_timeout=handshake_timeout or HANDSHAKE_TIMEOUT,
        failover_ports=ports(d), states_reader=d.state_reader(tp.plan.secret),
        normal_timeout=d.normal_timeout(), session=d.session, progress=d.progress,
        cancel=d.cancel, reconnect=d.reconnect, log_reader=log_reader,
        max_response_delay=fo.max_response_delay,
        settle=d.settle if d.settle is not None else SETTLE, command="protect-tunnel")
    return tx.run(), tx


def after_rollback(d, tp: TunnelPlan, result):
    """Back on the underlay after a rolled-back transaction: how the pair is, recorded."""
    d.answers = tp.original
    after = d.wait_normal(timeout=d.normal_timeout())
    if d.session is not None:
        d.session.event("tunnel", "rolled-back", phase=result.phase, reason=result.reason,
                        normal_after=after.ok, states=after.states())
    return after


def record(d, the_sides, plan, tx) -> None:
    """The evidence: public keys, the wg-quick files (no private key is in them), the config
    diffs and the failover connections seen on the tunnel."""
    s = d.session
    if s is None:
        return
    s.event("tunnel", "keys", **{r: {"public_key": the_sides[r].public_key,
                                     "implementation": the_sides[r].impl,
                                     "manager": the_sides[r].manager or "wg-quick",
                                     "address": the_sides[r].end.address,
                                     "endpoint": the_sides[r].end.endpoint} for r in ROLES})
    for role in ROLES:
        s.artifact(f"tunnel-{role}.conf", the_sides[role].conf, step="tunnel", host=role,
                   path=the_sides[role].end.conf_path)
    for f in plan.files:
        if f.changed:
            s.artifact(f"tunnel-{f.role}-{f.path.rsplit('/', 1)[-1]}.diff",
                       s.redactor.text(f.diff()), step="tunnel", host=f.role, path=f.path)
    s.event("tunnel", "over-tunnel", sockets={r: [list(c) for c in v]
                                              for r, v in tx.sockets.items()})


def prove(d, tends, the_sides=None):
    """Failover runs only through the tunnel: the underlay's failover ports dropped on both,
    the pair still normal; the result, recorded."""
    from wizard.ops.tunnel_proof import prove as run_proof
    from wizard.ops.tunnel_transaction import TunnelSide

    if the_sides is None:
        the_sides = {r: TunnelSide(tends[r], tends[OTHER[r]], "", "", False) for r in ROLES}
    fo = d.answers.failover
    conns = {r: d.pair.conn(r) for r in ROLES}
    result = run_proof(conns, the_sides, ports(d), d.state_reader(), fo.max_response_delay,
                       progress=d.progress, cancel=d.cancel)
    if d.session is not None:
        d.session.event("tunnel", "proof", **result.as_dict())
    return result


@dataclass
class TunnelRun:
    """What the protection step shows of one `protect tunnel` run."""
    ok: bool
    stage: str                       # transaction | proof | in-place
    message: str
    rolled_back: bool = False
    notes: list[str] = field(default_factory=list)
    public_keys: dict[str, str] = field(default_factory=dict)
    sockets: dict[str, list] = field(default_factory=dict)
    proof: object = None             # tunnel_proof's result


def run_tunnel(d, tp: TunnelPlan, handshake_timeout: float | None = None) -> TunnelRun:
    """The whole `protect tunnel` after its plan, as the command runs it between its prints:
    normal first, the transaction (or its rollback), the evidence, the proof."""
    if tp.in_place:
        proof = prove(d, tp.ends)
        return TunnelRun(proof.ok, "proof", proof.reason if not proof.ok else
                         "the tunnel was in place already; the proof holds", proof=proof)
    require_normal(d, tp)
    the_sides = sides(tp)
    result, tx = apply_tunnel(d, tp, the_sides, handshake_timeout)
    if not result.ok:
        after = after_rollback(d, tp, result)
        return TunnelRun(False, "transaction", f"{result.phase}: {result.reason}; after the "
                         "rollback " + ", ".join(f"{r} {s}" for r, s in after.states().items()),
                         result.rolled_back, list(result.notes))
    record(d, the_sides, tp.plan, tx)
    proof = prove(d, tp.ends, the_sides)
    keys = {r: the_sides[r].public_key for r in ROLES}
    socks = {r: list(c) for r, c in tx.sockets.items()}
    if not proof.ok:
        return TunnelRun(False, "proof", f"{proof.reason}; the tunnel stays in place "
                         "(`protect tunnel --remove` takes it back)", False, list(result.notes),
                         keys, socks, proof)
    return TunnelRun(True, "proof", f"normal over the tunnel, and stayed normal {proof.held:.0f} "
                     "s with the failover ports dropped on the underlay", False,
                     list(result.notes), keys, socks, proof)
