"""What a parsed config means: peers, OMAPI, shared-networks, subnets, pools, ranges, hosts.

The model points into the tree (each object keeps its node, the list holding it and its file)
so that edits land where the declaration is, including inside included files.
"""

from __future__ import annotations

import re
import reprlib

# _socket, not socket: the same inet_aton without importing enum and selectors.
from _socket import inet_aton, inet_ntoa

from wizard.conf.loader import Loader, LocalLoader
from wizard.conf.located import located, secrets_in
from wizard.conf.parser import parse, paused_gc
from wizard.conf.tokens import WORD, glued, unescaped, unquote, words
from wizard.conf.tree import Block, Document, Run, Stmt
from wizard.errors import InputError

# What people paste from the ISC guide: typographic hyphens that dhcpd does not accept.
UNICODE_HYPHENS = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                                 "\u2212": "-"})


class _Record:
    """What @dataclass(slots=True, eq=False) gave these classes (a repr naming the fields;
    equality by identity), without building their methods at every start-up."""

    __slots__ = ()

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({fields})"


class Where(_Record):
    __slots__ = ("doc", "node", "owner", "anchor")

    def __init__(self, doc: Document, node: Stmt, owner: "Block | Document", anchor: Stmt):
        self.doc = doc
        self.node = node
        self.owner = owner
        # The main file's top-level statement this node sits under (an include for included
        # files): what "declared before first use" is measured by.
        self.anchor = anchor

    @property
    def siblings(self) -> list:
        return self.owner.children

    @property
    def location(self) -> str:
        return f"{self.doc.path}:{self.node.line}"


class Range(_Record):
    # lo <= hi whichever way round the range is written: dhcpd reads `range HIGH LOW;` as the
    # same addresses (mdb.c, new_address_range), so pools compare by what they hand out.
    __slots__ = ("at", "lo", "hi", "bootp", "backwards")

    def __init__(self, at: Where, lo: int | None, hi: int | None, bootp: bool,
                 backwards: bool = False):
        self.at = at
        self.lo = lo
        self.hi = hi
        self.bootp = bootp
        self.backwards = backwards  # written high to low

    def text(self) -> str:
        lo, hi = (_dotted(a) if a is not None else "?" for a in (self.lo, self.hi))
        return f"{lo}-{hi}"


class Pool(_Record):
    __slots__ = ("at", "subnet", "shared", "ranges", "peer_ref", "no_failover", "inherits")

    def __init__(self, at: Where, subnet: "Subnet | None", shared: "SharedNetwork | None",
                 ranges: list[Range] | None = None, peer_ref: Stmt | None = None,
                 no_failover: bool = False, inherits: bool = True):
        self.at = at
        self.subnet = subnet
        self.shared = shared
        self.ranges = [] if ranges is None else ranges
        self.peer_ref = peer_ref
        self.no_failover = no_failover
        # dhcpd gives a pool its shared-network's peer as it reads the pool: a pool read
        # before the network names its peer stays out of it.
        self.inherits = inherits

    @property
    def peer(self) -> str | None:
        if self.no_failover:
            return None
        if self.peer_ref is not None:
            return self.peer_ref.arg(2)
        if self.inherits and self.shared is not None and self.shared.peer_ref is not None:
            return self.shared.peer_ref.arg(2)
        return None

    def peer_at(self) -> tuple[Where, int]:
        """Where a refusal about the pool's peer points: the statement that names it (the
        pool's own, else its shared-network's) at the name, else the pool itself."""
        ref = self.peer_ref or (self.shared.peer_ref if self.shared is not None else None)
        if ref is None:
            return self.at, 0
        return Where(self.at.doc, ref, self.at.node, self.at.anchor), 2


class Subnet(_Record):
    __slots__ = ("at", "network", "mask", "shared", "pools", "bare_ranges", "_cidr")

    def __init__(self, at: Where, network: int | None, mask: int | None,
                 shared: "SharedNetwork | None", pools: list[Pool] | None = None,
                 bare_ranges: list[Range] | None = None, _cidr: str | None = ""):
        self.at = at
        self.network = network
        self.mask = mask
        self.shared = shared
        self.pools = [] if pools is None else pools
        self.bare_ranges = [] if bare_ranges is None else bare_ranges
        self._cidr = _cidr  # "" until first asked for

    @property
    def cidr(self) -> str | None:
        if self._cidr == "":
            self._cidr = _cidr(self.network, self.mask)
        return self._cidr

    def contains(self, addr: int | None) -> bool:
        return (addr is not None and self.network is not None and self.mask is not None
                and addr & self.mask == self.network & self.mask)


class SharedNetwork(_Record):
    __slots__ = ("at", "name", "subnets", "pools", "bare_ranges", "peer_ref")

    def __init__(self, at: Where, name: str, subnets: list[Subnet] | None = None,
                 pools: list[Pool] | None = None, bare_ranges: list[Range] | None = None,
                 peer_ref: Stmt | None = None):
        self.at = at
        self.name = name
        self.subnets = [] if subnets is None else subnets
        self.pools = [] if pools is None else pools
        self.bare_ranges = [] if bare_ranges is None else bare_ranges
        self.peer_ref = peer_ref


class Peer(_Record):
    __slots__ = ("at", "name", "settings")

    def __init__(self, at: Where, name: str, settings: dict[str, Stmt] | None = None):
        self.at = at
        self.name = name
        # setting name ("peer address", "mclt", "role", ...) -> statement
        self.settings = {} if settings is None else settings

    def value(self, key: str) -> str | None:
        stmt = self.settings.get(key)
        if stmt is None:
            return None
        return "".join(glued(stmt.words)[-1:]) if key != "role" else stmt.keyword


class Key(_Record):
    __slots__ = ("at", "name", "algorithm", "secret")

    def __init__(self, at: Where, name: str, algorithm: str | None, secret: str | None):
        self.at = at
        self.name = name
        self.algorithm = algorithm
        self.secret = secret


class Keys(dict):
    """The key blocks by name, as dhcpd's key table holds them: names compare without case
    (omapip/auth.c hashes them with do_case_hash) and a key declared again replaces the one
    before (omapi_auth_key_enter); `omapi-key` is looked up once the whole config is read, so
    it gets the last one. A model that took the first, or only the same spelling, edited or
    reused a key dhcpd does not use, or added a second one beside it."""

    __slots__ = ()

    def __setitem__(self, name: str, key: "Key") -> None:
        super().__setitem__(name.lower(), key)

    def __getitem__(self, name: str) -> "Key":
        return super().__getitem__(name.lower())

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default=None):
        return super().get(name.lower(), default)


class Config(_Record):
    __slots__ = ("loader", "docs", "settings", "peers", "keys", "omapi_port", "omapi_key",
                 "shared_networks", "subnets", "pools", "groups", "included", "resolved",
                 "_hosts")

    def __init__(self, loader: Loader, docs: list[Document] | None = None,
                 settings: dict[str, Where] | None = None, peers: dict[str, Peer] | None = None,
                 keys: dict[str, Key] | None = None, omapi_port: Where | None = None,
                 omapi_key: Where | None = None,
                 shared_networks: list[SharedNetwork] | None = None,
                 subnets: list[Subnet] | None = None, pools: list[Pool] | None = None,
                 groups: list[Where] | None = None, included: dict[int, Document] | None = None,
                 _hosts: list[tuple[str, Where]] | None = None):
        self.loader = loader
        self.docs = [] if docs is None else docs
        self.settings = {} if settings is None else settings
        self.peers = {} if peers is None else peers
        self.keys = Keys() if keys is None else keys
        self.omapi_port = omapi_port
        self.omapi_key = omapi_key
        self.shared_networks = [] if shared_networks is None else shared_networks
        self.subnets = [] if subnets is None else subnets
        self.pools = [] if pools is None else pools
        self.groups = [] if groups is None else groups
        # What the hosts are found from, on demand: the document each include brought in (by
        # the include statement's id); the blocks walked into are the subnets,
        # shared-networks, groups.
        self.included = {} if included is None else included
        # file path -> {what an include statement in it names: the path that was read}
        self.resolved: dict[str, dict[str, str]] = {}
        self._hosts = _hosts

    @property
    def main(self) -> Document:
        return self.docs[0]

    @property
    def hosts(self) -> list[tuple[str, Where]]:
        """(name, where) of every host the model walks past (at the top, in shared-networks,
        subnets and groups, through includes), in file order. Found when first asked for: a
        campus config has tens of thousands and planning never needs them."""
        if self._hosts is None:
            self._hosts = []
            if self.docs:
                walked = {id(h.at.node) for h in (*self.subnets, *self.shared_networks)}
                walked.update(id(g.node) for g in self.groups)
                self._find_hosts(self.main, self.main, None, walked)
        return self._hosts

    def _find_hosts(self, doc: Document, owner, anchor, walked: set[int]) -> None:
        stack = [(doc, owner, iter(owner.children), anchor)]  # no recursion: see _Walker.walk
        while stack:
            doc, owner, nodes, anchor = stack[-1]
            node = next(nodes, None)
            if node is None:
                stack.pop()
                continue
            kw = _fast_keyword(node)
            if kw == "host":
                self._hosts.append((node.arg(1) or "", Where(doc, node, owner, anchor or node)))
            elif id(node) in walked:
                stack.append((doc, node, iter(node.children), anchor or node))
            elif kw == "include" and id(node) in self.included:
                inc = self.included[id(node)]
                stack.append((inc, inc, iter(inc.children), anchor or node))

    def all_ranges(self):
        for pool in self.pools:
            yield from pool.ranges
        for holder in (*self.subnets, *self.shared_networks):
            yield from holder.bare_ranges


class _Place:
    """What a detached record keeps of its file or block: the name, the line."""

    __slots__ = ("path", "line", "children")

    def __init__(self, path: str = "", line: int = 0):
        self.path, self.line, self.children = path, line, ()


def detach(config: Config) -> Config:
    """The model without its syntax tree: every record keeps its location (file and line),
    the statements lint reads (a peer's block, a range, a key, a setting), and, as `anchor`,
    the position of the main file's top-level statement it sits under, as an int. Lint judges
    a detached model as it would the whole one; holding one side this way while the other is
    read halves what checking a pair of 600k-line configs costs in memory. Nothing can be
    edited or rendered afterwards."""
    order = {id(n): i for i, n in enumerate(config.main.children)}
    docs: dict[int, _Place] = {}

    def place(doc) -> _Place:
        light = docs.get(id(doc))
        if light is None:
            light = docs[id(doc)] = _Place(doc.path)
        return light

    def light(at: Where, keep_node: bool) -> Where:
        node = at.node if keep_node else _Place("", at.node.line)
        rank = at.anchor if type(at.anchor) is int else order.get(id(at.anchor), 0)
        return Where(place(at.doc), node, None, rank)

    for holder in (*config.subnets, *config.shared_networks):
        holder.at = light(holder.at, False)
        for rng in holder.bare_ranges:
            rng.at = light(rng.at, True)
    for pool in config.pools:
        pool.at = light(pool.at, False)
        for rng in pool.ranges:
            rng.at = light(rng.at, True)
    for record in (*config.peers.values(), *config.keys.values()):
        record.at = light(record.at, True)
    config.settings = {k: light(w, True) for k, w in config.settings.items()}
    if config.omapi_port is not None:
        config.omapi_port = light(config.omapi_port, True)
    if config.omapi_key is not None:
        config.omapi_key = light(config.omapi_key, True)
    config.docs = [place(config.main)]
    config.groups, config.included, config._hosts = [], {}, []
    return config


def anchor_rank(config: Config):
    """where -> the position of its top-level statement in the main file (0 when unknown),
    for a whole model or a detached one alike."""
    order = {id(n): i for i, n in enumerate(config.main.children)}

    def rank(at: Where) -> int:
        return at.anchor if type(at.anchor) is int else order.get(id(at.anchor), 0)
    return rank


def _dotted(addr: int) -> str:
    return f"{addr >> 24}.{addr >> 16 & 255}.{addr >> 8 & 255}.{addr & 255}"


def _cidr(network: int | None, mask: int | None) -> str | None:
    """What str(IPv4Network((network, ones in mask), strict=False)) says, a hundred times
    cheaper: host bits set is an error dhcpd reports, the model still names the network."""
    if network is None or mask is None:
        return None
    prefix = mask.bit_count()
    return f"{inet_ntoa((network & (0xFFFFFFFF ^ (0xFFFFFFFF >> prefix))).to_bytes(4))}/{prefix}"


# dhcpd refuses `secs` with the message "expecting 'secs'", so configs carry it: the same
# setting as `seconds`, to be rewritten in place rather than kept beside a new line.
_PEER_SETTING_ALIASES = {"load balance max secs": "load balance max seconds"}


def peer_setting_key(stmt: Stmt) -> str:
    # Glued: `peer address 10 . 0 . 0 . 2` is a peer address to dhcpd (see glued).
    w = [x.translate(UNICODE_HYPHENS).lower() for x in glued(stmt.words)]
    if len(w) == 1 and w[0] in ("primary", "secondary"):
        return "role"
    key = " ".join(w[:-1]) if len(w) > 1 else (w[0] if w else "")
    return _PEER_SETTING_ALIASES.get(key, key)


# A part that starts with 0 and goes on: inet_aton reads it as octal (or hex after 0x), dhcpd
# as decimal (`10.1.0.010` is .10 to dhcpd, .8 to inet_aton): such addresses are read here.
_PADDED = re.compile(r"(?:^|\.)0[^.]")


def ip_int(text: str | None) -> int | None:
    if not text or text.count(".") != 3:
        return None
    # The `in` tests first: most addresses have no zero after a dot, and they cost a tenth
    # of the search (a campus plan reads tens of thousands).
    if (text[0] == "0" or ".0" in text) and _PADDED.search(text) is not None:
        return _padded_int(text)
    try:
        return int.from_bytes(inet_aton(text), "big")
    except (OSError, ValueError):  # ValueError: a NUL; UnicodeEncodeError: an undecodable byte
        return None


def _padded_int(text: str) -> int | None:
    """What dhcpd's parse_ip_addr makes of a dotted quad: four decimal numbers up to 255,
    leading zeros and all (`010.001.000.010` is 10.1.0.10)."""
    value = 0
    for part in text.split("."):
        if not (part.isascii() and part.isdigit()) or int(part) > 255:
            return None
        value = value << 8 | int(part)
    return value


def read(path: str, loader: Loader) -> str:
    try:
        return loader.read(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}",
                         "check the path and the permissions") from None


def load(path: str, loader: Loader | None = None, text: str | None = None,
         like: Config | None = None) -> Config:
    """like: a config already loaded and not yet edited; when this file has its very bytes
    (and neither includes anything), its tree is copied rather than parsed again."""
    loader = loader or LocalLoader()
    if text is None:
        text = read(path, loader)
    config = Config(loader)
    if like is not None and len(like.docs) == 1 and like.main.source == text \
            and not like.included:
        doc = like.main.copy(path)
    else:
        doc = parse(text, path)
    config.docs.append(doc)
    with paused_gc():
        _Walker(config).walk(doc, doc, None, None, None, top=True, seen=(path,))
    return config


_STMT_KEYWORDS = frozenset(("range", "include", "failover"))


def _fast_keyword(node: Stmt) -> str:
    head = node.head
    first = head.split(None, 1)[0] if head and not head.isspace() else ""
    if '"' in first or "#" in first:
        return node.keyword
    return first.lower()  # as node.keyword: dhcpd reads `Subnet` or `RANGE` too


class _Walker:
    def __init__(self, config: Config):
        self.c = config

    def walk(self, doc: Document, owner, shared, subnet, anchor, *, top: bool,
             seen: tuple[str, ...]) -> None:
        # An explicit stack rather than recursion: dhcpd accepts thousands of nested groups,
        # far past Python's recursion limit. Frames are visited in the same depth-first order
        # as the recursion would (the first declaration of a name wins).
        c = self.c
        stack = [(doc, iter(_items(owner)), shared, subnet, anchor, top, seen, owner)]
        push = stack.append
        while stack:
            doc, nodes, shared, subnet, anchor, top, seen, owner = stack[-1]
            # The siblings of a frame in one loop (its iterator keeps the place when a child
            # frame is pushed): a frame is unpacked once per block, not once per node.
            for node in nodes:
                # _fast_keyword, inlined: the walk asks it of every node it passes.
                first = node.head.split(None, 1)
                if not first:
                    continue
                first = first[0]
                kw = node.keyword if '"' in first or "#" in first else first.lower()
                if kw == "host" or not kw:
                    continue
                is_block = type(node) is Block
                if not (is_block or top or kw in _STMT_KEYWORDS):
                    continue
                here = Where(doc, node, owner, node if anchor is None else anchor)
                if is_block:
                    if kw == "subnet":
                        sub = _subnet(here, shared)
                        c.subnets.append(sub)
                        if shared is not None:
                            shared.subnets.append(sub)
                        push((doc, iter(_items(node)), shared, sub, here.anchor, False, seen,
                              node))
                        break
                    elif kw == "shared-network":
                        net = SharedNetwork(here, node.arg(1) or "")
                        c.shared_networks.append(net)
                        push((doc, iter(_items(node)), net, None, here.anchor, False, seen, node))
                        break
                    elif kw == "pool":
                        if self._pool(here, shared, subnet):
                            self._inner_includes(doc, node, here.anchor, seen)
                    elif kw == "group":
                        c.groups.append(here)
                        push((doc, iter(_items(node)), shared, subnet, here.anchor, False, seen,
                              node))
                        break
                    elif kw == "failover" and node.says("failover", "peer"):
                        peer = Peer(here, node.arg(2) or "")
                        for stmt in node.children:
                            if stmt.words:
                                peer.settings.setdefault(peer_setting_key(stmt), stmt)
                        c.peers.setdefault(peer.name, peer)
                        if shared is not None and subnet is None and shared.peer_ref is None:
                            # Declared in a shared-network, the peer is that network's: the
                            # pools read after it inherit it (confpars.c, parse_pool_statement).
                            shared.peer_ref = node
                    elif kw == "key":
                        self._key(here)
                    else:  # a class, an `if`, an event: nothing the model reads but includes
                        self._inner_includes(doc, node, here.anchor, seen)
                elif kw == "range":
                    if subnet is not None:
                        subnet.bare_ranges.append(_range(here))
                    elif shared is not None:
                        # dhcpd: "range declaration not allowed here"; planning it would hand
                        # dhcpd a config it rejects.
                        raise _at(here, "`range` directly inside a shared-network: dhcpd "
                                  "refuses it (range declaration not allowed here)",
                                  "put the range in a `pool { ... }` after the subnets of the "
                                  "shared-network, or in the `subnet` it belongs to")
                elif kw == "include":
                    inc = self._include(doc, here, seen)
                    push((inc, iter(inc.children), shared, subnet, here.anchor, top,
                          seen + (inc.path,), inc))
                    break
                elif kw == "failover" and shared is not None and subnet is None:
                    shared.peer_ref = shared.peer_ref or node
                elif top:
                    if kw == "omapi-port":
                        c.omapi_port = here
                    elif kw == "omapi-key":
                        c.omapi_key = here
                    w = node.words
                    c.settings.setdefault(" ".join(w[:-1]) if len(w) > 1 else kw, here)
            else:
                stack.pop()

    def _pool(self, here: Where, shared, subnet) -> bool:
        """Whether the pool may include files (an include, or a block that may hold one):
        thousands of pools in a campus config, nearly none of them with either."""
        if subnet is None and shared is None:
            # dhcpd refuses it too ("pool declared outside of network"); failing here keeps
            # every later step free of the case.
            raise _at(here, "`pool` declared outside of a subnet or shared-network",
                      "move the pool into the `subnet` (or `shared-network`) whose addresses "
                      "it hands out")
        pool = Pool(here, subnet, shared, inherits=shared is not None
                    and shared.peer_ref is not None)
        inner = False
        for stmt in here.node.items:
            kind = type(stmt)
            if kind is Run:
                continue
            kw = _fast_keyword(stmt)
            if kw == "range":
                pool.ranges.append(_range(Where(here.doc, stmt, here.node, here.anchor)))
            elif kw == "failover" and stmt.says("failover", "peer"):
                pool.peer_ref = stmt
            elif kw == "no" and stmt.says("no", "failover"):
                pool.no_failover = True
            elif kw == "include" or kind is Block:
                inner = True
        self.c.pools.append(pool)
        (subnet or shared).pools.append(pool)
        return inner

    def _inner_includes(self, doc: Document, block: Block, anchor: Stmt,
                        seen: tuple[str, ...]) -> None:
        """Read the files included inside a block the walk does not enter (a pool, a class,
        an `if`). dhcpd reads them there, where it allows only options and the like, so the
        model finds nothing in them; but a plan must carry them as it carries every included
        file (its written tree and checks read them, not whatever the working directory
        holds), and a copy to the other peer must know they are there."""
        stack = [(doc, block, seen)]
        while stack:
            doc, owner, seen = stack.pop()
            for node in _items(owner):
                if type(node) is Block:
                    stack.append((doc, node, seen))
                elif type(node) is Stmt and _fast_keyword(node) == "include":
                    inc = self._include(doc, Where(doc, node, owner, anchor), seen)
                    stack.append((inc, inc, seen + (inc.path,)))

    def _key(self, here: Where) -> None:
        algorithm = secret = None
        for stmt in here.node.children:
            if stmt.keyword == "algorithm":
                algorithm = stmt.arg(1)
            elif stmt.keyword == "secret":
                # Every word up to the `;`: dhcpd reads a secret wrapped over lines (or cut at
                # spaces) as its pieces one after another (parse.c, parse_base64).
                secret = "".join(unquote(w) for w in stmt.words[1:]) or None
        key = Key(here, here.node.arg(1) or "", algorithm, secret)
        self.c.keys[key.name] = key  # the last one wins, as in dhcpd (see Keys)

    def _include(self, doc: Document, here: Where, seen: tuple[str, ...]) -> Document:
        loader = self.c.loader
        target = loader.resolve(unescaped(here.node.arg(1) or ""), doc.path, self.c.docs[0].path)
        if target in seen:
            raise _at(here, f"include loop: {target} includes itself",
                      "remove the include that closes the loop")
        try:
            text = loader.read(target)
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
            raise _at(here, f"cannot read included file {target}: {exc.strerror or exc}"
                      if isinstance(exc, OSError) else
                      f"cannot read included file {target!r}: the path holds a NUL byte",
                      "put a copy of the included file where this path points, or inline it")
        inc = parse(text, target)
        self.c.docs.append(inc)
        self.c.included[id(here.node)] = inc
        self.c.resolved.setdefault(doc.path, {})[here.node.arg(1) or ""] = target
        return inc


def _items(owner) -> list:
    if type(owner) is Block:
        # Runs hold nothing the walk looks at (tokens.SIGNIFICANT); hosts are found later.
        return [n for n in owner.items if type(n) is not Run] if owner.lazy else owner.items
    return owner.children


def _range(here: Where) -> Range:
    w = glued(words(here.node.head))  # not cached on the node: a campus config has thousands
    first = 2 if len(w) > 1 and w[1].lower() == "dynamic-bootp" else 1
    addrs = [ip_int(x) for x in w[first:first + 2]]
    for i, addr in enumerate(addrs):
        if addr is None:
            raise _at(here, f"`{w[first + i]}` is not an IPv4 address", "write `range FIRST LAST;` "
                      "with two IPv4 addresses", first + i)
    if not addrs or len(w) > first + 2:
        raise _at(here, "`range` takes one or two addresses", _semicolon_hint(here),
                  min(len(w) - 1, first + 2))
    lo, hi = addrs[0], addrs[-1]
    if lo > hi:
        return Range(here, hi, lo, first == 2, True)
    return Range(here, lo, hi, first == 2)


def _subnet(here: Where, shared) -> Subnet:
    w = glued(words(here.node.head))
    net = ip_int(w[1]) if len(w) > 1 else None
    mask = ip_int(w[3]) if len(w) > 3 else None
    netmask = len(w) > 2 and w[2].lower() == "netmask"
    if len(w) != 4 or not netmask or net is None or mask is None:
        bad = next((i for i, ok in ((1, net), (2, netmask), (3, mask))
                    if ok is None or ok is False), 4)
        raise _at(here, "expected `subnet NETWORK netmask MASK`",
                  "write the network and its mask as IPv4 addresses, e.g. "
                  "`subnet 198.51.100.0 netmask 255.255.255.0 {`", min(bad, len(w) - 1))
    return Subnet(here, net, mask, shared)


def _semicolon_hint(here: Where) -> str:
    if "\n" in here.node.head.strip():
        return (f"a ';' is probably missing at the end of line {here.node.line}: "
                "dhcpd reads on into the next line")
    return "write `range FIRST LAST;`"


def _at(here: Where, problem: str, hint: str, word: int = 0) -> InputError:
    """A located error at the word-th word of here's statement."""
    # dhcpd counts only \n; splitlines would also cut at a form feed or U+2028 in a comment.
    source = here.doc.source.split("\n")
    line, head = here.node.line, here.node.head
    text = source[line - 1] if 0 < line <= len(source) else ""
    col = max(text.find(head.split("\n", 1)[0]), 0) + 1
    spots = [m.start() for m in WORD.finditer(head) if head[m.start()] != "#"]
    offset = spots[word] if word < len(spots) else 0
    before = head[:offset]
    if "\n" in before:
        line += before.count("\n")
        col = offset - before.rfind("\n")
        text = source[line - 1] if line <= len(source) else ""
    else:
        col += offset
    return InputError(located(here.doc.path, line, col, problem, text,
                              secrets_in(here.doc.source)), hint)
