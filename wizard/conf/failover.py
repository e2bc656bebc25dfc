"""Failover edits on one server's config: the peer block and the pools that refer to it."""

from __future__ import annotations

from typing import NamedTuple

from wizard.conf import edits
from wizard.conf.model import Config, Peer, Pool, Range, Subnet, Where, _at, peer_setting_key
from wizard.conf.tree import Block

SETTING_ORDER = ("role", "address", "port", "peer address", "peer port", "max-response-delay",
                 "max-unacked-updates", "mclt", "split", "hba", "load balance max seconds")
# dhcpd rejects the secondary's block when it has split/hba, and ignores mclt there.
SECONDARY_FORBIDDEN = ("mclt", "split", "hba")


class PeerSpec(NamedTuple):
    """What one side's `failover peer` block must say."""

    name: str
    role: str
    address: str
    port: int
    peer_address: str
    peer_port: int
    max_response_delay: int
    max_unacked_updates: int
    load_balance_max_seconds: int
    mclt: int | None = None
    split: int | None = None
    hba: str | None = None

    def settings(self) -> list[tuple[str, str]]:
        values = {
            "role": self.role, "address": self.address, "port": self.port,
            "peer address": self.peer_address, "peer port": self.peer_port,
            "max-response-delay": self.max_response_delay,
            "max-unacked-updates": self.max_unacked_updates, "mclt": self.mclt,
            "split": self.split, "hba": self.hba,
            "load balance max seconds": self.load_balance_max_seconds,
        }
        return [(key, str(values[key]) if key == "role" else f"{key} {values[key]}")
                for key in SETTING_ORDER if values[key] is not None]

    def forbidden(self) -> tuple[str, ...]:
        if self.role == "secondary":
            return SECONDARY_FORBIDDEN
        return ("hba",) if self.split is not None else ("split",)


class Scope:
    """Which pools join failover: those of the chosen subnets (None: every pool)."""

    def __init__(self, cidrs: tuple[str, ...] | None):
        self.cidrs = None if cidrs is None else frozenset(cidrs)

    def subnet(self, subnet: Subnet) -> bool:
        return self.cidrs is None or subnet.cidr in self.cidrs

    def pool(self, pool: Pool) -> bool:
        if pool.subnet is not None:
            return self.subnet(pool.subnet)
        return self.shared_ranges(pool.shared, pool.ranges)

    def bare_ranges_in(self, config: Config) -> bool:
        """Whether config has a range outside any pool in scope (the plan wraps it in one)."""
        return any(self.subnet(sub) and sub.bare_ranges for sub in config.subnets) or any(
            self.shared_ranges(net, net.bare_ranges) for net in config.shared_networks
            if net.bare_ranges)

    def shared_ranges(self, shared, ranges: list[Range]) -> bool:
        chosen = [s for s in shared.subnets if self.subnet(s)]
        if not ranges:
            return bool(chosen)
        return any(s.contains(r.lo) for r in ranges for s in chosen)


def apply(config: Config, spec: PeerSpec, scope: Scope, notes: list[str],
          default_unit: str = "    ") -> None:
    """default_unit: the indentation step for a file that shows none (no block yet)."""
    units = edits.Units(config.main, default_unit)
    users = _refer_pools(config, spec.name, scope, units, notes)
    if not users:
        return
    peer = config.peers.get(spec.name)
    if peer is None:
        _insert_peer(config, spec, users, units.main)
    else:
        _update_peer(config, peer, spec, users, units.of(peer.at.doc), notes)


def _refer_pools(config: Config, name: str, scope: Scope, units: edits.Units,
                 notes: list[str]) -> list[Where]:
    """Make every pool in scope refer to the peer; return where the referring pools sit."""
    users: list[Where] = []
    ref = f'failover peer "{name}"'
    for pool in config.pools:
        if not scope.pool(pool):
            continue
        if pool.no_failover:
            notes.append(f"{pool.at.location}: pool says `no failover peer`; left out of failover")
            continue
        current = pool.peer
        if current is not None and current != name:
            notes.append(f"{pool.at.location}: pool already belongs to failover peer "
                         f"{current!r}; left alone")
            continue
        _drop_bootp(pool.ranges, notes)
        # Also where the pool inherits the peer from its shared-network: dhcpd's sanity check
        # counts only pools that name the peer themselves ("has no referring pools").
        if pool.peer_ref is None:
            edits.prepend(pool.at.node, edits.snippet(ref + ";"), units.of(pool.at.doc))
        users.append(pool.at)
    for holder in (*config.subnets, *config.shared_networks):
        for rng in holder.bare_ranges:
            if isinstance(holder, Subnet) and not scope.subnet(holder):
                continue
            if not isinstance(holder, Subnet) and not scope.shared_ranges(holder, [rng]):
                continue
            _drop_bootp([rng], notes)
            _wrap_in_pool(rng, ref, units.of(rng.at.doc))
            notes.append(f"{rng.at.location}: range {rng.text()} wrapped in a pool so that it "
                         "can join failover")
            users.append(rng.at)
    return users


def _drop_bootp(ranges: list[Range], notes: list[str]) -> None:
    for rng in ranges:
        if rng.bootp:
            words = [w for w in rng.at.node.words if w.lower() != "dynamic-bootp"]
            rng.at.node.set_head(" ".join(words))
            notes.append(f"{rng.at.location}: `dynamic-bootp` dropped from range {rng.text()}: "
                         "the failover protocol does not allow dynamic BOOTP (dhcpd refuses it)")


def _wrap_in_pool(rng: Range, ref: str, unit: str) -> None:
    node = rng.at.node
    siblings = rng.at.siblings
    index = next(i for i, n in enumerate(siblings) if n is node)
    indent = edits.line_indent(node.pre)
    pool = edits.snippet("pool {}")
    pool.pre = node.pre
    if indent is None:
        node.pre = " "
        ref_stmt = edits.snippet(ref + ";")
        ref_stmt.pre = " "
        pool.tail = " "
    else:
        node.pre = "\n" + indent + unit
        ref_stmt = edits.snippet(ref + ";")
        ref_stmt.pre = node.pre
        pool.tail = "\n" + indent
    pool.children[:] = [ref_stmt, node]
    siblings[index] = pool


def _first_use(config: Config, users: list[Where]) -> int:
    order = {id(n): i for i, n in enumerate(config.main.children)}
    return min(order[id(u.anchor)] for u in users)


def _insert_peer(config: Config, spec: PeerSpec, users: list[Where], unit: str) -> None:
    lines = [text + ";" for _, text in spec.settings()]
    block = edits.snippet(edits.block_text(f'failover peer "{spec.name}"', lines, "", unit))
    edits.insert_before(config.main.children, _first_use(config, users), [block], gap=True)


def _update_peer(config: Config, peer: Peer, spec: PeerSpec, users: list[Where], unit: str,
                 notes: list[str]) -> None:
    block = peer.at.node
    assert isinstance(block, Block)
    for key, text in spec.settings():
        stmt = peer.settings.get(key)
        if stmt is not None:
            edits.set_words(stmt, text)
            continue
        new = edits.snippet(text + ";")
        if key == "role" and block.children:
            edits.insert_before(block.children, 0, [new])
        else:
            edits.append(block, [new], unit)
    for key in spec.forbidden():
        stmt = peer.settings.get(key)
        if stmt is not None:
            edits.remove(block, stmt)
            notes.append(f"{peer.at.location}: `{key}` removed from the {spec.role}'s peer block")
    _drop_repeats(peer, {key for key, _ in spec.settings()} | set(spec.forbidden()), notes)
    _declare_before_use(config, peer, users, notes)


def _drop_repeats(peer: Peer, keys: set[str], notes: list[str]) -> None:
    """dhcpd takes the last of a setting written twice, the model (and so the edit above) the
    first: the repeats go, or the server would run with the value the plan replaced."""
    block = peer.at.node
    for stmt in [s for s in block.children if s.words]:
        key = peer_setting_key(stmt)
        first = peer.settings.get(key)  # None for a statement the plan just added
        if key in keys and first is not None and stmt is not first:
            edits.remove(block, stmt)
            notes.append(f"{peer.at.doc.path}:{stmt.line}: `{key}` was set twice in the peer "
                         "block (dhcpd takes the last); the repeat removed")


def _declare_before_use(config: Config, peer: Peer, users: list[Where], notes: list[str]) -> None:
    """dhcpd refuses a pool that names a peer declared further down: move the block up. A
    peer declared inside a shared-network is global all the same (dhcpd keeps one list of
    peers), so it may move out to the top level."""
    main = config.main.children
    first = _first_use(config, users)
    order = {id(n): i for i, n in enumerate(main)}
    if order[id(peer.at.anchor)] <= first and not (
            peer.at.anchor is not peer.at.node and order[id(peer.at.anchor)] == first
            and _used_before(peer, users)):
        return
    if peer.at.doc is not config.main:
        raise _at(peer.at, f"failover peer \"{peer.name}\" is declared in an included file "
                  f"that comes after a pool that must refer to it ({users[0].location}); "
                  "dhcpd needs the declaration first",
                  "move the include (or the peer block) above the first pool, then plan again")
    node = peer.at.node
    edits.remove(peer.at.owner, node)
    unit = edits.Units(config.main).main
    edits.restyle(node, edits.line_indent(node.pre) or "", "", unit, unit)
    edits.insert_before(main, first, [node], gap=True)
    notes.append(f"{peer.at.location}: peer block moved above the first pool that uses it")


def _used_before(peer: Peer, users: list[Where]) -> bool:
    """Whether a pool under the same top-level block as the peer comes before it."""
    position = {}
    stack = [peer.at.anchor]
    count = 0
    while stack:
        node = stack.pop()
        position[id(node)] = count
        count += 1
        if isinstance(node, Block):
            stack.extend(reversed(node.children))
    mine = position.get(id(peer.at.node), 0)
    return any(position.get(id(u.node), mine) < mine for u in users)

