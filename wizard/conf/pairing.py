"""Pools must be identical on both peers: compare them, and copy the primary's to the secondary.

A mismatch passes `dhcpd -t` and only shows at runtime, as `bind update ... rejected: unknown
IP address`, so the wizard compares subnet by subnet and shared-network by shared-network.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Callable, NamedTuple

from wizard.conf import carried, edits
from wizard.conf.model import Config, Range, SharedNetwork, Subnet, Where, _at, anchor_rank
from wizard.conf.tree import Block, Run, Stmt

Holder = Subnet | SharedNetwork


class Difference(NamedTuple):
    key: str                   # "subnet 10.0.0.0/24" or "shared-network NAME"
    primary: Holder | None
    secondary: Holder | None
    only_primary: tuple[str, ...] = ()
    only_secondary: tuple[str, ...] = ()

    def sentence(self) -> str:
        if self.secondary is None:
            return f"{self.key} (with pools {', '.join(self.only_primary)}) is on the primary only"
        if self.primary is None:
            return (f"{self.key} (with pools {', '.join(self.only_secondary)}) is on the "
                    "secondary only")
        parts = []
        if self.only_primary:
            parts.append(f"only the primary has {', '.join(self.only_primary)}")
        if self.only_secondary:
            parts.append(f"only the secondary has {', '.join(self.only_secondary)}")
        return f"{self.key}: pools differ: " + "; ".join(parts or ["ranges are grouped differently"])


def third_party_peers(mine: Config, theirs: Config, partner: str | None = None) -> set[str]:
    """The failover relationships `mine` declares with a server other than `theirs`: a server
    can be the partner of several (a hub in two pairs). A relationship `theirs` does not
    declare, whose peer address is not the partner's, is that other pair's business: its
    pools are neither compared nor copied. partner: `theirs`'s failover address where known
    (the answers); else the peer address of the relationships the two share."""
    shared = mine.peers.keys() & theirs.peers.keys()
    partners = {partner} if partner else {mine.peers[n].value("peer address") for n in shared}
    partners.discard(None)
    if not partners:
        return set()
    return {name for name, peer in mine.peers.items() if name not in theirs.peers
            and (address := peer.value("peer address")) is not None and address not in partners}


def check_one_sided(mine: Config, theirs: Config, role: str, partner: str, name: str) -> None:
    """A relationship `mine` has with its partner (its peer address is the partner's) under a
    name that is not the answers', which the partner does not declare: half of an earlier
    setup. Planned as it stands, the pair would have two relationships, one of them with no
    other end, and lint refuses it; the answers can take that name instead."""
    for peer_name, peer in mine.peers.items():
        if peer_name == name or peer_name in theirs.peers \
                or peer.value("peer address") != partner:
            continue
        other = "secondary" if role == "primary" else "primary"
        raise _at(peer.at, f"the {role} declares failover peer \"{peer_name}\" with the "
                  f"{other} (peer address {partner}), which the {other} does not declare, "
                  f"while the answers name the relationship \"{name}\"",
                  f"to keep that relationship, set `name = \"{peer_name}\"` under [failover] "
                  f"in the answers; or remove it and its pools' references from the {role}; "
                  "then plan again", 2)


def of_third_party(holder: Holder, third: set[str]) -> bool:
    """Whether every pool of holder (one at least, and no bare range) belongs to one of those
    relationships."""
    return bool(third) and bool(holder.pools) and not holder.bare_ranges and all(
        pool.peer in third for pool in holder.pools)


def holder_key(holder: Holder) -> str:
    if isinstance(holder, Subnet):
        return f"subnet {holder.cidr}"
    return f"shared-network {holder.name}"


def _shape(holder: Holder) -> list[tuple[tuple[int | None, int | None], ...]]:
    """Pools as sorted tuples of ranges; a bare range counts as a pool of its own, since
    failover needs it wrapped in one anyway."""
    pools = [tuple(sorted((r.lo, r.hi) for r in p.ranges)) for p in holder.pools]
    pools += [((r.lo, r.hi),) for r in holder.bare_ranges]
    return sorted(pools, key=repr)


def _same_order(a: Holder, b: Holder) -> bool:
    """Both hold the same ranges, pool by pool, in the same order (then _shape agrees)."""
    if len(a.pools) != len(b.pools) or len(a.bare_ranges) != len(b.bare_ranges):
        return False
    for pa, pb in zip(a.pools, b.pools):
        if len(pa.ranges) != len(pb.ranges):
            return False
        for ra, rb in zip(pa.ranges, pb.ranges):
            if ra.lo != rb.lo or ra.hi != rb.hi:
                return False
    for ra, rb in zip(a.bare_ranges, b.bare_ranges):
        if ra.lo != rb.lo or ra.hi != rb.hi:
            return False
    return True


def _ranges(holder: Holder) -> list[Range]:
    return [r for p in holder.pools for r in p.ranges] + list(holder.bare_ranges)


def holders(config: Config) -> dict[str, Holder]:
    found: dict[str, Holder] = {}
    add = found.setdefault
    for sub in config.subnets:  # holder_key, without a call per holder
        add(f"subnet {sub.cidr}", sub)
    for net in config.shared_networks:
        add(f"shared-network {net.name}", net)
    return found


def compare(primary: Config, secondary: Config,
            relevant: Callable[[Holder], bool]) -> list[Difference]:
    """Differences between the two sides' pools, for holders relevant on either side."""
    p, s = holders(primary), holders(secondary)
    diffs = []
    in_s = s.get
    for key, ph in p.items():
        sh = in_s(key)
        # The same pools in the same order need neither the sort of _shape nor the question
        # of relevance (both pure): compared first, as most holders of a pair are alike.
        if sh is not None and _same_order(ph, sh):
            continue
        if relevant(ph) or (sh is not None and relevant(sh)):
            _differ(diffs, key, ph, sh)
    for key, sh in s.items():
        if key not in p and relevant(sh):
            _differ(diffs, key, None, sh)
    return diffs


def _differ(diffs: list[Difference], key: str, ph: Holder | None, sh: Holder | None) -> None:
    if (_shape(ph) if ph else []) == (_shape(sh) if sh else []):
        return
    p_texts = {r.text() for r in _ranges(ph)} if ph else set()
    s_texts = {r.text() for r in _ranges(sh)} if sh else set()
    diffs.append(Difference(key, ph, sh, tuple(sorted(p_texts - s_texts)),
                            tuple(sorted(s_texts - p_texts))))


def match_secondary(primary: Config, secondary: Config, diffs: list[Difference],
                    notes: list[str], name: str) -> bool:
    """Make the secondary's pools those of the primary; True when anything changed. name is
    the pair's failover relationship, which the plan declares on the secondary."""
    # Copies take the secondary's indentation step (a tab where it uses tabs).
    primary_units = edits.Units(primary.main)
    units = (primary_units, edits.Units(secondary.main, primary_units.main))
    copied_shared: set[str] = set()
    changed = False
    classes = _Classes(secondary)
    peers = set(secondary.peers) | {name}
    spans = None  # built when the first subnet is missing on the secondary
    needs = carried.Needs(primary, secondary)
    for diff in diffs:
        if diff.primary is None:
            _check_secondary_only(diff.secondary)
            notes.append(f"{diff.secondary.at.location}: {diff.sentence()}; left out of failover "
                         "(declare it on the primary too, or remove it)")
            continue
        copied = _copied(secondary, diff)
        landing = _landing(secondary, diff, classes)
        _check_classes(copied, classes, landing)
        _check_peers(copied, peers, diff.primary)
        needs.check(_copied_nodes(secondary, diff, copied), landing)
        if diff.secondary is not None:
            if isinstance(diff.primary, SharedNetwork):
                spans = spans or _Spans(secondary)
                _add_range_subnets(secondary, diff.primary, diff.secondary, spans, needs, units,
                                   notes, classes)
            _replace_pools(diff.primary, diff.secondary, units)
            notes.append(f"{diff.secondary.at.location}: {diff.sentence()}; the secondary gets "
                         "the primary's pools")
        else:
            spans = spans or _Spans(secondary)
            whole = _whole_shared(secondary, diff)
            for sub in whole.subnets if whole is not None else [diff.primary]:
                _check_overlap(spans, sub, whole)
            if not _add_missing(secondary, diff.primary, copied_shared, units):
                continue
            notes.append(f"{secondary.main.path}: {diff.sentence()}; copied to the secondary")
        changed = True
    return changed


class _Spans:
    """The secondary's subnets as address intervals, to find one that overlaps a subnet of the
    primary in log time (a stale secondary may lack thousands of the primary's subnets)."""

    def __init__(self, config: Config):
        spans = sorted(((span, s) for s in config.subnets if (span := _span(s)) is not None),
                       key=lambda t: t[0])
        self.starts = [lo for (lo, _), _ in spans]
        self.reach: list[tuple[int, Subnet]] = []  # the farthest end among spans[:i + 1]
        for (_, hi), sub in spans:
            if not self.reach or hi > self.reach[-1][0]:
                self.reach.append((hi, sub))
            else:
                self.reach.append(self.reach[-1])
        self.spans = spans

    def overlapping(self, lo: int, hi: int) -> Subnet | None:
        i = bisect_left(self.starts, lo)
        if i < len(self.starts) and self.starts[i] <= hi:
            return self.spans[i][1]
        if i > 0 and self.reach[i - 1][0] >= lo:
            return self.reach[i - 1][1]
        return None


def _span(sub: Subnet) -> tuple[int, int] | None:
    if sub.network is None or sub.mask is None:
        return None
    lo = sub.network & sub.mask
    return lo, lo | (~sub.mask & 0xFFFFFFFF)


def _check_overlap(spans: _Spans, src: Holder, whole: SharedNetwork | None = None) -> None:
    """A subnet the secondary declares with another mask is the same network drifted apart:
    a copy beside it would make dhcpd refuse the file, merging them would change one server's
    mask behind its operator's back. whole: the primary's shared-network that src is copied
    in (or with); where the secondary declares src elsewhere (at the top, or in a
    shared-network named otherwise), the copy would declare it twice, which dhcpd only warns
    about ("subnet overlaps") while the two declarations disagree on the segment."""
    span = _span(src) if isinstance(src, Subnet) else None
    sub = spans.overlapping(*span) if span is not None else None
    if sub is None:
        return
    if whole is not None and sub.cidr == src.cidr:
        where = (f"in shared-network \"{sub.shared.name}\"" if sub.shared is not None
                 else "outside any shared-network")
        raise _at(sub.at, f"the secondary declares subnet {sub.cidr} {where}, the primary in "
                  f"shared-network \"{whole.name}\" ({src.at.location}): copied as the "
                  "primary has it, the subnet would be declared twice on the secondary",
                  f"put subnet {sub.cidr} in a shared-network named \"{whole.name}\" on both "
                  "servers (or in none on both), then plan again")
    raise _at(sub.at, f"the secondary declares subnet {sub.cidr} where the primary "
              f"declares {src.cidr} ({src.at.location})",
              "declare the subnet with the same network and netmask on both servers")


def _add_range_subnets(secondary: Config, src: SharedNetwork, dst: SharedNetwork,
                       spans: _Spans, needs: carried.Needs,
                       units: tuple[edits.Units, edits.Units], notes: list[str],
                       classes: _Classes) -> None:
    """Before dst gets src's pools: the subnets of src that those pools' ranges lie in and
    that the secondary lacks, copied into dst ahead of its pools (dhcpd refuses a pool whose
    range is on no subnet of its shared-network declared before it). Only subnets without
    pools of their own: one with pools differs from the secondary's by them, and is copied
    for that difference."""
    mine = {sub.cidr for sub in dst.subnets}
    ranges = [r for pool in src.pools for r in pool.ranges]
    step = (units[0].of(src.at.doc), units[1].of(dst.at.doc))
    for sub in src.subnets:
        if sub.cidr in mine or not any(sub.contains(r.lo) for r in ranges):
            continue
        _check_overlap(spans, sub, src)  # declared elsewhere on the secondary
        if sub.pools or sub.bare_ranges:
            continue
        needs.check([sub.at], (classes.rank(dst.at), dst.at))
        _add_subnet(dst, edits.copy_node(sub.at.node, *step), step[1])
        notes.append(f"{dst.at.location}: subnet {sub.cidr}, which the primary's pools of "
                     f"shared-network {src.name} need, copied to the secondary")


class _Classes:
    """Where a config declares each class: dhcpd takes a class declared anywhere (in a group,
    a subnet, an included file) for the whole config, but only from that point of its
    reading on: a pool that names one declared further down is refused (no such class)."""

    END = 1 << 62  # the rank of what goes at the end of the main file

    def __init__(self, config: Config):
        self.rank = anchor_rank(config)
        self.first: dict[str, tuple] = {}  # name -> where it is read (carried.defined_after)
        order = {id(n): i for i, n in enumerate(config.main.children)}
        stack = [(config.main, iter(config.main.children), None)]
        while stack:  # no recursion: groups nest thousands deep
            doc, nodes, top = stack[-1]
            node = next(nodes, None)
            if node is None:
                stack.pop()
                continue
            top_rank = order[id(node)] if top is None else top
            if type(node) is Block:
                if node.keyword == "class":
                    self.first.setdefault(node.arg(1) or "", (top_rank, doc, node.line))
                # A run of statements still kept as text holds no block (tree.Run): not read.
                stack.append((doc, (n for n in node.items if type(n) is not Run), top_rank))
            elif type(node) is Stmt and id(node) in config.included:
                inc = config.included[id(node)]
                stack.append((inc, iter(inc.children), top_rank))

    def before(self, name: str, landing: tuple[int, Where | None]) -> str | None:
        """None when class `name` is declared before where copies land (see _landing); else
        why not."""
        found = self.first.get(name)
        if found is None:
            return "which the secondary does not declare"
        if not carried.defined_after(found, landing):
            return None
        return (f"which the secondary declares only further down ({found[1].path}:"
                f"{found[2]}), and dhcpd knows a class only from its declaration on")


def _landing(secondary: Config, diff: Difference, classes: _Classes
             ) -> tuple[int, Where | None]:
    """Where the copied pools go in the secondary: the holder they replace pools in, the
    shared-network of the name a missing subnet joins, or the end of the main file (see
    _add_missing; no holder then); with the rank of its top-level statement."""
    if diff.secondary is not None:
        return classes.rank(diff.secondary.at), diff.secondary.at
    target = _named_shared(secondary, _shared_of(diff.primary))
    return (classes.END, None) if target is None else (classes.rank(target.at), target.at)


def _shared_of(src: Holder) -> SharedNetwork | None:
    """The shared-network src is (or lies in), if any."""
    return src if isinstance(src, SharedNetwork) else src.shared


def _named_shared(config: Config, shared: SharedNetwork | None) -> SharedNetwork | None:
    """config's shared-network of the same name as `shared` (matching pairs them by name)."""
    if shared is None:
        return None
    return next((n for n in config.shared_networks if n.name == shared.name), None)


def _whole_shared(secondary: Config, diff: Difference) -> SharedNetwork | None:
    """The primary's shared-network that matching copies whole (see _add_missing): the one
    holding what the secondary lacks, when the secondary has no shared-network of its name."""
    if diff.secondary is not None:
        return None
    shared = _shared_of(diff.primary)
    if shared is None or _named_shared(secondary, shared) is not None:
        return None
    return shared


def _copied(secondary: Config, diff: Difference) -> list:
    """The primary's pools that matching the secondary copies (see _add_missing)."""
    whole = _whole_shared(secondary, diff)
    if whole is not None:
        return list(whole.pools) + [p for sub in whole.subnets for p in sub.pools]
    return list(diff.primary.pools)


def _copied_nodes(secondary: Config, diff: Difference, pools: list) -> list[Where]:
    """Where the text that matching copies comes from: the whole subnet (or its
    shared-network) that the secondary lacks, else the pools."""
    if diff.secondary is not None:
        return [p.at for p in pools]
    return [(_whole_shared(secondary, diff) or diff.primary).at]


def _check_classes(pools: list, classes: _Classes, landing: tuple[int, Where | None]) -> None:
    """A copied pool (going in where landing says, see _landing) that
    admits or denies members of a class the secondary does not declare before it makes
    dhcpd refuse the file ("no such class"); the wizard neither invents nor moves the class."""
    for pool in pools:
        for stmt in pool.at.node.children:
            if len(stmt.words) != 4 or stmt.keyword not in ("allow", "deny") \
                    or not stmt.says(stmt.keyword, "members", "of"):
                continue
            why = classes.before(stmt.arg(3) or "", landing)
            if why is not None:
                raise _at(Where(pool.at.doc, stmt, pool.at.node, pool.at.anchor),
                          f"this pool of the primary, which the secondary must get too, names "
                          f"class \"{stmt.arg(3)}\", {why}",
                          f"declare class \"{stmt.arg(3)}\" on the secondary as on the primary, "
                          "before the subnets whose pools name it, then plan again")


def _check_secondary_only(holder: Holder) -> None:
    """A subnet (or shared-network) the primary does not declare stays out of failover, but
    not one whose pools already name a failover peer on the secondary: the peers would then
    differ in pools, which dhcpd notices only at runtime (`bind update ... rejected`)."""
    for pool in holder.pools:
        if pool.peer is None:
            continue
        at, word = pool.peer_at()
        raise _at(at, f"{holder_key(holder)}, which the primary does not declare, has a pool in "
                  f"failover peer \"{pool.peer}\" on the secondary: the two peers would not "
                  "have the same pools",
                  "declare it with the same pools on the primary too, or take this pool out of "
                  "failover on the secondary, then plan again", word)


def _check_peers(pools: list, declared: set[str], src: Holder) -> None:
    """A copied pool that names another failover relationship (the primary's with a third
    server) makes dhcpd refuse the secondary ("failover peer X: not found"); the wizard
    neither invents that peer on the secondary nor drops the pool's reference."""
    for pool in pools:
        peer = pool.peer
        if peer is None or peer in declared:
            continue
        at, word = pool.peer_at()
        raise _at(at, f"{holder_key(src)} must be copied to the secondary so that both peers "
                  f"have the same pools, but this pool of the primary belongs to failover peer "
                  f"\"{peer}\", which the secondary does not declare",
                  f"the two servers must declare the same failover peers: declare "
                  f"\"{peer}\" on the secondary too, or take the pool out of that "
                  "relationship on the primary", word)


def _replace_pools(src: Holder, dst: Holder, units: tuple[edits.Units, edits.Units]) -> None:
    """dst's pools and bare ranges become copies of src's, in the place of dst's first one
    (its comment stays above them)."""
    block = dst.at.node
    olds = [p.at for p in dst.pools] + [r.at for r in dst.bare_ranges]
    old = {id(at.node) for at in olds}
    # The pools may be in a file the holder includes (`subnet X { include "pools.conf"; }`):
    # the copies then go where the first of them is, in that file, and every old one goes
    # from its own file; left there, they would be served beside the copies.
    first_at = next((at for n in block.children for at in olds if at.node is n), None) or \
        next((at for at in olds if at.doc is not dst.at.doc), None)
    doc = first_at.doc if first_at is not None else dst.at.doc
    units = (units[0].of(src.at.doc), units[1].of(doc))
    new = [edits.copy_node(p.at.node, *units) for p in src.pools]
    new += [edits.copy_node(r.at.node, *units) for r in src.bare_ranges]
    if first_at is not None and new:
        siblings = first_at.siblings
        edits.replace(siblings, next(i for i, n in enumerate(siblings) if n is first_at.node),
                      new)
        old.discard(id(new[0]))
    for at in olds:
        if id(at.node) in old and any(n is at.node for n in at.siblings):
            edits.remove(at.owner, at.node)
    if first_at is None and new:
        edits.append(block, new, units[1])


def _add_missing(secondary: Config, src: Holder, copied_shared: set[str],
                 units: tuple[edits.Units, edits.Units]) -> bool:
    shared = _shared_of(src)
    if shared is not None:
        target = _named_shared(secondary, shared)
        if target is not None:
            if isinstance(src, Subnet):
                step = (units[0].of(src.at.doc), units[1].of(target.at.doc))
                _add_subnet(target, edits.copy_node(src.at.node, *step), step[1])
            else:
                _replace_pools(src, target, units)
            return True
        if shared.name in copied_shared:
            return False
        copied_shared.add(shared.name)
        src = shared
    step = (units[0].of(src.at.doc), units[1].main)
    edits.append(secondary.main, [edits.copy_node(src.at.node, *step)], step[1], gap=True)
    return True


def _add_subnet(shared: SharedNetwork, subnet, unit: str) -> None:
    """A subnet goes before the shared-network's own pools: dhcpd refuses a pool whose range
    lies in a subnet declared after it ("address range not on network")."""
    block = shared.at.node
    pools = {id(p.at.node) for p in shared.pools}
    first = next((i for i, n in enumerate(block.children) if id(n) in pools), None)
    if first is None:
        edits.append(block, [subnet], unit)
    else:
        edits.insert_before(block.children, first, [subnet])
