"""Pools a server already gives to a failover relationship other than the one planned.

The plan leaves such a pool alone. Its counterpart on the secondary must then stay out of the
planned relationship too (else the two servers would serve the same range in different
relationships), and a relationship the other server does not declare is one the plan cannot
make whole: it is refused before anything is edited, naming the relationship and how to plan
it, rather than after, as lint findings on lines the plan wrote itself (a relationship with
the partner itself is pairing.check_one_sided's: this is the rest, one with a third server
that leaves no pool for the planned one).
"""

from __future__ import annotations

from wizard.conf import failover
from wizard.conf.model import Config, Pool, Subnet, _at


def taken(subnet: Subnet, name: str) -> bool:
    """Whether every pool of the subnet (one at least, and no bare range) already belongs to
    a relationship other than `name`."""
    return bool(subnet.pools) and not subnet.bare_ranges and all(
        pool.peer is not None and pool.peer != name for pool in subnet.pools)


def check(primary: Config, secondary: Config, scope: failover.Scope, name: str,
          third: set[str], s_third: set[str]) -> None:
    """Refuse where one side's pools in scope belong to a relationship the other does not
    declare: with the other server itself (the answers name it otherwise), or with a third
    server (third, s_third: each side's) when no pool is left for the planned one."""
    _check_side(primary, secondary, ("primary", "secondary"), scope, name, third)
    _check_side(secondary, primary, ("secondary", "primary"), scope, name, s_third)


def _check_side(mine: Config, theirs: Config, roles: tuple[str, str], scope: failover.Scope,
                name: str, third: set[str]) -> None:
    others: dict[str, Pool] = {}  # relationship -> its first pool in scope
    free = False
    for pool in mine.pools:
        if not scope.pool(pool) or pool.no_failover:
            continue
        peer = pool.peer
        if peer is None or peer == name:
            free = True
        elif peer not in theirs.peers:
            others.setdefault(peer, pool)
    free = free or scope.bare_ranges_in(mine)
    for peer, pool in others.items():
        if peer in third and free:
            continue  # this side's pair with another server: left to that pair
        declared = mine.peers.get(peer)
        at, word = pool.peer_at()  # where the pool says so
        address = declared.value("peer address") if declared is not None else None
        partner = f" (with {address})" if address else ""
        raise _at(at, f"the {roles[0]}'s pools in scope already belong to failover peer "
                  f"\"{peer}\"{partner}, which the {roles[1]} does not declare, and the answers "
                  f"plan the relationship \"{name}\": the plan would leave the two servers "
                  "with different relationships",
                  f"to plan this relationship on both servers, set `name = \"{peer}\"` under "
                  "[failover] (and the hosts or addresses of its two peers) in the answers; or "
                  "take those "
                  f"pools out of it on the {roles[0]}, or out of failover.pools",
                  word)
