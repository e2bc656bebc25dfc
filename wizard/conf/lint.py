"""Two configs checked against each other as one failover pair.

Each finding has a stable id (scripts and the TUI key on it), a severity, a file:line, and a
sentence that ends with how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.conf import pairing
from wizard.conf.failover import SETTING_ORDER
from wizard.conf.model import UNICODE_HYPHENS, Config, Peer, Pool, Range, Subnet, anchor_rank
from wizard.conf.omapi import ALGORITHM
from wizard.conf.omapi_key import same_algorithm
from wizard.conf.tokens import glued

SEVERITIES = ("error", "warn", "info")
# Statements dhcpd 4.4 accepts in a peer block; any other one makes it drop the whole peer.
# Not `load balance max secs`: a parse error, whatever dhcpd's "expecting 'secs'" suggests.
KNOWN_PEER_SETTINGS = set(SETTING_ORDER) | {
    "auto-partner-down", "max-lease-misbalance", "max-lease-ownership", "min-balance",
    "max-balance", "max-transmit-idle", "max-update-idle"}
DEFAULT_PORT = "647"


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    location: str
    message: str

    def render(self) -> str:
        return f"{self.location}: {self.severity}: {self.message} [{self.id}]"

    def as_dict(self) -> dict:
        return {"id": self.id, "severity": self.severity, "location": self.location,
                "message": self.message}


class _Lint:
    def __init__(self, primary: Config, secondary: Config):
        self.p, self.s = primary, secondary
        self.findings: list[Finding] = []
        self._failover_keys: set[str] | None = None

    def add(self, id: str, severity: str, location: str, message: str) -> None:
        self.findings.append(Finding(id, severity, location, message))

    def run(self) -> list[Finding]:
        self.peers()
        for role, config in (("primary", self.p), ("secondary", self.s)):
            self.pools(role, config)
            self.ranges(role, config)
            self.omapi(role, config)
        self.pool_equality()
        self.omapi_pair()
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        return sorted(self.findings, key=lambda f: (rank[f.severity], *_place(f.location)))

    # -- failover peer blocks -------------------------------------------------------------

    def peers(self) -> None:
        p, s = self.p.peers, self.s.peers
        for role, config in (("primary", self.p), ("secondary", self.s)):
            if not config.peers:
                self.add("peer-missing", "error", f"{config.main.path}:1",
                         f"the {role} declares no `failover peer` block; `dhcp-wizard plan` "
                         "adds one")
        third = self.third_party()
        for name in p.keys() ^ s.keys():
            mine, other = (p, "secondary") if name in p else (s, "primary")
            if name in third:  # with a third server: that pair's to match, not this one's
                self.add("peer-third-server", "warn", mine[name].at.location,
                         f"failover peer \"{name}\" is a relationship with another server "
                         f"(peer address {mine[name].value('peer address')}); its pools are "
                         "left out of this pair's checks: check it with that server's config")
                continue
            theirs = sorted(s if name in p else p)
            self.add("peer-name-mismatch", "error", mine[name].at.location,
                     f"failover peer \"{name}\" has no partner of that name on the {other}"
                     f"{' (it declares ' + ', '.join(theirs) + ')' if theirs else ''}; use the "
                     "same relationship name on both servers")
        for name in p.keys() & s.keys():
            self.peer_pair(p[name], s[name])
        for role, peers in (("primary", p), ("secondary", s)):
            for peer in peers.values():
                self.peer_statements(role, peer)

    def peer_pair(self, pp: Peer, sp: Peer) -> None:
        for peer, role in ((pp, "primary"), (sp, "secondary")):
            if (peer.value("role") or "primary") != role:
                self.add("peer-role", "error", peer.at.location,
                         f"the {role}'s peer block says `{peer.value('role') or 'primary'}`; "
                         f"write `{role};` in it")
            if peer.value("address") is None:
                self.add("peer-address-missing", "error", peer.at.location,
                         f"the {role}'s peer block has no `address`; dhcpd -t accepts that but "
                         "the server cannot start failover: add `address` with its own address")
        for mine, theirs, a, b in (("address", "peer address", pp, sp),
                                   ("peer address", "address", pp, sp),
                                   ("port", "peer port", pp, sp), ("peer port", "port", pp, sp)):
            default = DEFAULT_PORT if "port" in mine else None
            left, right = a.value(mine) or default, b.value(theirs) or default
            if left is not None and right is not None and left.lower() != right.lower():
                kind = "port" if "port" in mine else "address"
                self.add(f"{kind}-mirror", "error", b.at.location,
                         f"the primary's `{mine}` is {left} but the secondary's `{theirs}` is "
                         f"{right}; each side's {kind} must be the other's peer {kind}")
        if pp.value("mclt") is None:
            self.add("primary-mclt", "error", pp.at.location,
                     "the primary has no `mclt`; dhcpd refuses that: add e.g. `mclt 3600;`")
        has = [k for k in ("split", "hba") if k in pp.settings]
        if len(has) == 2:
            self.add("split-and-hba", "error", pp.at.location,
                     "the primary has both `split` and `hba`; keep one of them")
        elif not has:
            self.add("split-missing", "error", pp.at.location,
                     "the primary has neither `split` nor `hba`; dhcpd refuses that: add "
                     "`split 128;`")
        if "mclt" in sp.settings:
            self.add("secondary-mclt", "warn", sp.at.location,
                     "the secondary has `mclt`, which dhcpd ignores there; remove it (it belongs "
                     "on the primary)")
        for key in ("split", "hba"):
            if key in sp.settings:
                self.add("secondary-load-balance", "error", sp.at.location,
                         f"the secondary has `{key}`; dhcpd refuses load balance settings on "
                         "the secondary: remove it")
        for peer, role in ((pp, "primary"), (sp, "secondary")):
            seconds = peer.value("load balance max seconds")
            if seconds in (None, "0"):
                self.add("load-balance-off", "warn", peer.at.location,
                         f"the {role}'s `load balance max seconds` is "
                         f"{'missing (0)' if seconds is None else '0'}: both servers answer every"
                         " client; set it to 3 or 5 as ISC recommends")

    def peer_statements(self, role: str, peer: Peer) -> None:
        for stmt in peer.at.node.children:
            if not stmt.words:
                continue
            text = " ".join(stmt.words)
            w = glued(stmt.words)  # `peer address 10 . 0 . 0 . 2` is one to dhcpd
            key = " ".join(w[:-1]).lower() if len(w) > 1 else stmt.keyword
            if text != text.translate(UNICODE_HYPHENS):
                self.add("unicode-hyphen", "error", f"{peer.at.doc.path}:{stmt.line}",
                         f"`{text}` contains a typographic hyphen (copied from the ISC guide?); "
                         "dhcpd rejects it: type plain ASCII hyphens")
            elif stmt.keyword not in ("primary", "secondary") and key not in KNOWN_PEER_SETTINGS:
                self.add("peer-unknown-statement", "error", f"{peer.at.doc.path}:{stmt.line}",
                         f"`{text}` is not a failover peer statement; dhcpd then discards the "
                         "whole peer: remove or correct it")

    # -- pools ----------------------------------------------------------------------------

    def pools(self, role: str, config: Config) -> None:
        rank = anchor_rank(config)
        used: set[str] = set()
        failover_holders = self.failover_keys()
        for pool in config.pools:
            name = pool.peer
            holder = pool.subnet or pool.shared
            if name is None:
                if not pool.no_failover and holder and not failover_holders.isdisjoint(
                        _pool_keys(pool)):
                    self.add("pool-without-peer", "error", pool.at.location,
                             f"a pool in failover {pairing.holder_key(holder)} on the {role} does "
                             f"not refer to the peer; add `failover peer \"NAME\";` to it")
                continue
            if pool.peer_ref is not None:  # dhcpd does not count a peer inherited from the
                used.add(name)             # shared-network as a referring pool
            peer = config.peers.get(name)
            if peer is None:
                self.add("pool-unknown-peer", "error", pool.at.location,
                         f"the pool refers to failover peer \"{name}\", which the {role} does "
                         "not declare; declare the peer or correct the name")
            elif rank(peer.at) > rank(pool.at):
                self.add("peer-declared-after-use", "error", peer.at.location,
                         f"failover peer \"{name}\" is declared after a pool that uses it "
                         f"({pool.at.location}); dhcpd reports `not found`: move the block up")
            for rng in pool.ranges:
                if rng.bootp:
                    self.add("bootp-in-failover", "error", rng.at.location,
                             "`range dynamic-bootp` in a failover pool is refused by dhcpd; drop "
                             "`dynamic-bootp` or move the range to a pool that does not name the "
                             "peer")  # not `no failover peer;`: dhcpd 4.4 refuses that too
        for holder in (*config.subnets, *config.shared_networks):
            if pairing.holder_key(holder) in failover_holders:
                for rng in holder.bare_ranges:
                    self.add("range-outside-pool", "error", rng.at.location,
                             f"range {rng.text()} in failover {pairing.holder_key(holder)} on "
                             f"the {role} is not in a pool, so it cannot join failover; wrap it "
                             f"in `pool {{ failover peer \"NAME\"; ... }}`")
        for name, peer in config.peers.items():
            if name not in used:
                self.add("peer-unreferenced", "error", peer.at.location,
                         f"no pool on the {role} refers to failover peer \"{name}\"; dhcpd "
                         "refuses that: add `failover peer \"" + name + "\";` to the pools")

    def failover_keys(self) -> set[str]:
        """Asked for by each side's pools and by the pool comparison: found once (findings
        never change the models)."""
        if self._failover_keys is None:
            self._failover_keys = self._find_failover_keys()
        return self._failover_keys

    def third_party(self) -> set[str]:
        """The relationships either side has with a third server (pairing.third_party_peers)."""
        return (pairing.third_party_peers(self.p, self.s)
                | pairing.third_party_peers(self.s, self.p))

    def _find_failover_keys(self) -> set[str]:
        keys = set()
        third = self.third_party()
        for config in (self.p, self.s):
            for pool in config.pools:
                holder = pool.subnet or pool.shared
                if pool.peer is not None and pool.peer not in third and holder is not None:
                    keys.add(pairing.holder_key(holder))
                    keys.update(_pool_keys(pool))
        return keys

    def pool_equality(self) -> None:
        keys = self.failover_keys()
        for diff in pairing.compare(self.p, self.s, lambda h: pairing.holder_key(h) in keys):
            where = (diff.secondary or diff.primary).at.location
            self.add("pools-differ", "error", where,
                     f"{diff.sentence()}; pools and ranges must be identical on both peers "
                     "(`dhcp-wizard plan` copies the primary's)")

    # -- ranges ---------------------------------------------------------------------------

    def ranges(self, role: str, config: Config) -> None:
        spans: list[tuple[int, int, Range]] = []
        for pool in config.pools:
            for rng in pool.ranges:
                self.range_fits(role, rng, pool.subnet, pool)
        for holder in (*config.subnets, *config.shared_networks):
            for rng in holder.bare_ranges:
                self.range_fits(role, rng, holder if isinstance(holder, Subnet) else None, holder)
        for rng in config.all_ranges():
            if rng.lo is not None and rng.hi is not None and rng.lo <= rng.hi:
                spans.append((rng.lo, rng.hi, rng))
        spans.sort(key=lambda t: (t[0], t[1]))
        reach: tuple[int, Range] | None = None
        for lo, hi, rng in spans:
            if reach is not None and lo <= reach[0]:
                self.add("range-overlap", "error", rng.at.location,
                         f"range {rng.text()} overlaps {reach[1].text()} "
                         f"({reach[1].at.location}) on the {role}; make the ranges disjoint")
            if reach is None or hi > reach[0]:
                reach = (hi, rng)

    def range_fits(self, role: str, rng: Range, subnet: Subnet | None, holder) -> None:
        if rng.lo is None or rng.hi is None:
            self.add("range-invalid", "error", rng.at.location,
                     f"`{' '.join(rng.at.node.words)}` is not a range of IPv4 addresses; write "
                     "`range FIRST LAST;`")
            return
        if rng.backwards:
            # dhcpd takes it ("allow range to be specified high-to-low"): the same addresses.
            self.add("range-reversed", "warn", rng.at.location,
                     f"range {rng.text()} is written high to low, which dhcpd reads as the "
                     "same addresses; write the lower address first to make that plain")
        subnets = [subnet] if subnet is not None else list(getattr(holder, "subnets", []) or [])
        if not subnets and isinstance(holder, Pool) and holder.shared is not None:
            subnets = holder.shared.subnets
        if not any(s.contains(rng.lo) and s.contains(rng.hi) for s in subnets):
            where = subnets[0].cidr if len(subnets) == 1 else "any subnet around it"
            self.add("range-outside-subnet", "error", rng.at.location,
                     f"range {rng.text()} on the {role} is not inside {where}; correct the "
                     "addresses or move the range to its subnet")

    # -- OMAPI ----------------------------------------------------------------------------

    def omapi(self, role: str, config: Config) -> None:
        top = f"{config.main.path}:1"
        if config.omapi_port is None:
            self.add("omapi-port-missing", "warn", top,
                     f"the {role} has no `omapi-port`: the wizard cannot read its failover state "
                     "or drill it; add `omapi-port 7911;` with a key")
            return
        if config.omapi_key is None:
            self.add("omapi-open", "error", config.omapi_port.location,
                     f"OMAPI on the {role} has no `omapi-key`: anyone who reaches the port can "
                     "control dhcpd; add a `key` block and `omapi-key NAME;`")
            return
        name = config.omapi_key.node.arg(1) or ""
        key = config.keys.get(name)
        if key is None:
            self.add("omapi-key-unknown", "error", config.omapi_key.location,
                     f"`omapi-key {name}` names no declared key on the {role}; add `key {name} "
                     "{ algorithm hmac-md5; secret ...; }`")
        elif key.algorithm is None or not same_algorithm(key.algorithm, ALGORITHM):
            self.add("omapi-algorithm", "warn", key.at.location,
                     f"key {name} uses {key.algorithm}; dhcpd -t does not check it and the "
                     f"wizard's OMAPI client speaks only {ALGORITHM}: use `algorithm {ALGORITHM};`")

    def omapi_pair(self) -> None:
        p, s = self.p, self.s
        if not (p.omapi_key and s.omapi_key):
            return
        pk, sk = (c.keys.get(c.omapi_key.node.arg(1) or "") for c in (p, s))
        if pk and sk and ((pk.name.lower(), pk.secret) != (sk.name.lower(), sk.secret)
                          or not same_algorithm(pk.algorithm, sk.algorithm)):
            # An error: the wizard (and any tool) holds one key for the pair, so a drill or
            # a graceful stop of one peer would fail midway.
            self.add("omapi-key-differs", "error", sk.at.location,
                     "the two servers use different OMAPI keys (name, secret or algorithm); "
                     "use the same key on both so that one answers file reaches both "
                     "(`dhcp-wizard plan` makes them agree)")


def _pool_keys(pool: Pool) -> set[str]:
    """What a pool belongs to for failover: its subnet, or for a pool at shared-network level
    the subnets its ranges lie in, as the plan chooses them (failover.Scope); the
    shared-network itself when no subnet holds its ranges."""
    if pool.subnet is not None:
        return {pairing.holder_key(pool.subnet)}
    if pool.shared is None:
        return set()
    keys = {pairing.holder_key(s) for s in pool.shared.subnets
            if any(s.contains(r.lo) for r in pool.ranges)}
    return keys or {pairing.holder_key(pool.shared)}


def _place(location: str) -> tuple[str, int]:
    path, _, line = location.rpartition(":")
    return path, int(line) if line.isdigit() else 0


def lint_pair(primary: Config, secondary: Config) -> list[Finding]:
    return _Lint(primary, secondary).run()
