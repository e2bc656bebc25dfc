"""Host firewalls, as pure logic: what a host's detection output says it runs, what that does
to the failover, OMAPI and DHCP ports, and the rules `protect firewall` plans.

Our rules live in their own nftables table (TABLE), a base chain on the input hook that only
ever *drops* the failover port from anyone but the peer and OMAPI from anyone but the admins.
A separate table is why this is safe beside whatever the host runs: it never accepts anything
on the host's behalf and never touches another table, so traffic the host allowed stays
allowed (except those two ports from strangers), re-runs replace only our table, and removal
is one `delete table`. The plan's digest is the table's comment, so a re-run can tell "already
in place" from "changed" without comparing nft's re-formatted listing.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import re
from dataclasses import dataclass, field

from wizard.ops.firewall_iptables import CHAIN

TABLE = "dhcp_wizard"
FAMILY = "inet"
KINDS = ("nftables", "iptables", "firewalld", "none")


@dataclass(frozen=True)
class Detected:
    kind: str                         # one of KINDS
    detail: str                       # what was seen, for the operator
    nft_ruleset: str = ""             # `nft list ruleset` as found (our table included)
    ours: str = ""                    # our table's listing, "" when absent
    has_nft: bool = False
    iptables: str = ""                # iptables-save output of whichever variant has rules
    firewalld_zone: str = ""
    ssh_client: str | None = None     # the wizard's address as this host sees it
    effects: dict[str, str] = field(default_factory=dict)   # "519/tcp" -> what happens
    persist: tuple[str, ...] = ()     # how the host loads rules at boot (nftables.conf, ...)
    iptables_variant: str = ""        # the iptables whose rules are in use (or the first found)
    iptables_tools: tuple[str, ...] = ()   # iptables variants with both -save and -restore
    rules_v4: str | None = None       # /etc/iptables/rules.v4, None when absent
    nftables_conf_ours: bool = False  # our marked block is in /etc/nftables.conf
    firewalld_policies: bool = True   # firewalld has policies (0.9 and later)
    firewalld_listing: str = ""       # the runtime config as firewall-cmd lists it
    firewalld_policy: str = ""        # our permanent files, "" when absent
    firewalld_ipset: str = ""
    firewalld_runtime: tuple[str, ...] = ()    # of ours loaded at runtime: "policy", "ipset"
    firewalld_drift: str | None = None  # runtime vs permanent (None: not looked at)


def sections(text: str) -> dict[str, str]:
    """The detection script's output cut at its `==== name` markers."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^==== (\S+)$", line)
        if m:
            current = m.group(1)
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v).strip("\n") for k, v in out.items()}


def _nft_tables(ruleset: str) -> list[tuple[str, str]]:
    return re.findall(r"^table (\S+) (\S+) \{", ruleset, re.M)


def _is_iptables_nft(family: str, name: str, ruleset: str) -> bool:
    """iptables-nft keeps its rules in nft tables named like the xtables ones, with chains
    in upper case (INPUT, FORWARD); those are iptables rules, not an nftables setup."""
    return family in ("ip", "ip6") and name in ("filter", "nat", "mangle", "raw", "security") \
        and re.search(r"^\s*chain (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) \{", ruleset,
                      re.M) is not None


def _table_body(ruleset: str, family: str, name: str) -> str:
    m = re.search(rf"^table {re.escape(family)} {re.escape(name)} \{{\n(.*?)^\}}", ruleset,
                  re.M | re.S)
    return m.group(1) if m else ""


def parse_detection(text: str, ports: dict[str, str]) -> Detected:
    """ports: {"519/tcp": "failover", "7911/tcp": "OMAPI", "67/udp": "DHCP"}."""
    s = sections(text)
    has_nft = s.get("nft-present", "").strip() == "yes"
    ruleset = s.get("nft", "") if has_nft else ""
    ours = ""
    if f"table {FAMILY} {TABLE} {{" in ruleset:
        ours = f"table {FAMILY} {TABLE} {{\n{_table_body(ruleset, FAMILY, TABLE)}}}"
    others = [(f, n) for f, n in _nft_tables(ruleset) if (f, n) != (FAMILY, TABLE)]
    fwd_state = s.get("firewalld", "").strip()
    ipt = _iptables_rules(s)
    ssh = s.get("ssh", "").split()
    ssh_client = ssh[0] if ssh else None
    zone = s.get("firewalld-zone", "").strip()
    if fwd_state == "running":
        kind = "firewalld"
        detail = f"firewalld running (default zone {zone or '?'})"
        effects = {p: _firewalld_effect(s.get("firewalld-list", ""), p, what)
                   for p, what in ports.items()}
    elif any(not _is_iptables_nft(f, n, ruleset) and n != "firewalld" for f, n in others):
        kind = "nftables"
        names = ", ".join(f"{f} {n}" for f, n in others if not _is_iptables_nft(f, n, ruleset))
        detail = f"nftables ruleset in use (tables: {names})"
        effects = {p: _nft_effect(ruleset, p, what) for p, what in ports.items()}
    elif ipt:
        kind = "iptables"
        detail = f"iptables rules in use ({ipt[0]})"
        effects = {p: _iptables_effect(ipt[1], p, what) for p, what in ports.items()}
    else:
        kind = "none"
        detail = "no host firewall: no nftables ruleset, no iptables rules, no firewalld"
        effects = {p: "open (nothing filters it)" for p in ports}
    if ours:
        detail += f"; dhcp-wizard's own table {FAMILY} {TABLE} is in place"
    tools = tuple(s.get("iptables-tools", "").split())
    runtime_ours = tuple(s.get("firewalld-runtime-ours", "").split())
    if "firewalld-runtime" in s:
        listing = s["firewalld-runtime"]
        runtime_ours = tuple(name for name, pat in (("policy", r"^dhcp-wizard( \(.*\))?$"),
                                                    ("ipset", r"^ipset-dhcp-wizard-admin$"))
                             if re.search(pat, listing, re.M))
    if kind == "iptables" and ipt and f":{CHAIN} " in ipt[1]:
        detail += f"; dhcp-wizard's own chain {CHAIN} is in place"
    if kind == "firewalld" and "policy" in runtime_ours:
        detail += "; dhcp-wizard's own firewalld policy is in place"
        effects = _limited(effects, ports, "dhcp-wizard's policy drops the rest")
    if kind == "iptables" and ipt and f":{CHAIN} " in ipt[1]:
        effects = _limited(effects, ports, f"dhcp-wizard's chain {CHAIN} drops the rest")
    return Detected(kind, detail, ruleset, ours, has_nft, ipt[1] if ipt else "", zone,
                    ssh_client, effects, tuple(s.get("persist", "").split()),
                    iptables_variant=ipt[0] if ipt else (tools[0] if tools else ""),
                    iptables_tools=tools,
                    rules_v4=s["rules-v4"] + "\n" if "rules-v4" in s else None,
                    nftables_conf_ours=s.get("nftables-conf-ours", "").strip() == "yes",
                    firewalld_policies="policies-unsupported" not in
                    s.get("firewalld-runtime", ""),
                    firewalld_listing=s.get("firewalld-runtime", ""),
                    firewalld_policy=_file(s, "firewalld-policy-file"),
                    firewalld_ipset=_file(s, "firewalld-ipset-file"),
                    firewalld_runtime=runtime_ours,
                    firewalld_drift=s.get("firewalld-drift") if "firewalld-drift" in s else None)


def _limited(effects: dict[str, str], ports: dict[str, str], why: str) -> dict[str, str]:
    """What the host accepts on the failover port and OMAPI, once our rules (which the
    zone or INPUT listing does not show) limit the sources."""
    return {p: f"{e} (from some sources: {why})" if ports[p] in ("failover", "OMAPI")
            and e.startswith("accept") and "some sources" not in e else e
            for p, e in effects.items()}


def _file(s: dict[str, str], name: str) -> str:
    text = s.get(name, "")
    return text + "\n" if text.strip() else ""


def _iptables_rules(s: dict[str, str]) -> tuple[str, str] | None:
    for name in ("iptables-legacy", "iptables-nft", "iptables"):
        text = s.get(name, "")
        if re.search(r"^-A ", text, re.M) or re.search(r"^:INPUT (DROP|REJECT)", text, re.M):
            return name, text
    return None


def _split_port(port: str) -> tuple[int, str]:
    number, proto = port.split("/")
    return int(number), proto


def _input_chains(ruleset: str) -> list[tuple[str, str]]:
    """(policy, body) of every base chain on the input hook, any table but ours."""
    out = []
    for family, name in _nft_tables(ruleset):
        if (family, name) == (FAMILY, TABLE) or family not in ("inet", "ip"):
            continue
        body = _table_body(ruleset, family, name)
        for chain in re.findall(r"chain \S+ \{\n(.*?)\n\t\}", body, re.S):
            m = re.search(r"type filter hook input .*?policy (\w+);", chain)
            if m:
                out.append((m.group(1), chain))
    return out


def _nft_effect(ruleset: str, port: str, what: str) -> str:
    number, proto = _split_port(port)
    verdicts = []
    for policy, chain in _input_chains(ruleset):
        verdict = None
        for line in chain.splitlines():
            line = line.strip()
            if re.search(rf"\b{proto} dport (\{{[^}}]*\b{number}\b[^}}]*\}}|{number}\b)", line):
                m = re.search(r"\b(accept|drop|reject)\b", line)
                if m:
                    verdict = m.group(1) + (" (from some sources)" if "saddr" in line else "")
                    break
        verdicts.append(verdict or f"{policy} by policy")
    if not verdicts:
        return "open (no input chain filters it)"
    return "; ".join(verdicts)


def _iptables_effect(rules: str, port: str, what: str) -> str:
    number, proto = _split_port(port)
    m = re.search(r"^:INPUT (\w+)", rules, re.M)
    policy = m.group(1).lower() if m else "accept"
    for line in rules.splitlines():
        if line.startswith("-A INPUT") and f"-p {proto}" in line and \
                re.search(rf"--dports? (\S*,)?{number}\b", line):
            j = re.search(r"-j (\w+)", line)
            if j:
                return j.group(1).lower() + (" (from some sources)" if " -s " in line else "")
    return f"{policy} by policy"


def _firewalld_effect(listing: str, port: str, what: str) -> str:
    number, proto = _split_port(port)
    if re.search(rf"\b{number}/{proto}\b", listing):
        return "accepted (port in the zone)"
    if what == "DHCP" and re.search(r"^\s*services:.*\bdhcp\b", listing, re.M):
        return "accepted (service dhcp in the zone)"
    if re.search(rf'port="{number}" protocol="{proto}"', listing):
        return "rich rule (from some sources)"
    return "dropped (not in the zone)"


# -- planning -------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    role: str
    failover_port: int
    peer: str
    omapi_port: int
    admin: tuple[str, ...]
    # Test-only drops, (tcp port, source address): a plan that cuts SSH, on purpose.
    extra_drops: tuple[tuple[int, str], ...] = ()
    # The peer's other failover source: its tunnel address, where [tunnel] is set (the pair
    # then talks through WireGuard, which only the peer can send into).
    tunnel_peer: str | None = None

    @property
    def peers(self) -> list[str]:
        return [self.peer] + ([self.tunnel_peer] if self.tunnel_peer else [])

    @property
    def peer_words(self) -> str:
        return self.peer + (f" (and its tunnel address {self.tunnel_peer})"
                            if self.tunnel_peer else "")

    @property
    def admin_sorted(self) -> list[str]:
        return sorted(self.admin, key=_net_key)

    @property
    def table(self) -> str:
        body = self._rules()
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        return (f"table {FAMILY} {TABLE} {{\n\tcomment \"dhcp-wizard protect plan {digest}\"\n"
                f"{body}}}\n")

    @property
    def digest(self) -> str:
        return hashlib.sha256(self._rules().encode()).hexdigest()[:16]

    def _rules(self) -> str:
        admin = ", ".join(sorted(self.admin, key=_net_key))
        lines = [
            "\tchain input {",
            "\t\ttype filter hook input priority filter - 10; policy accept;",
            '\t\tiif "lo" accept',
            *(f'\t\ttcp dport {port} ip saddr {src} drop comment "test only: cuts the wizard"'
              for port, src in self.extra_drops),
            f"\t\ttcp dport {self.failover_port} ip saddr != "
            f"{self.peer if not self.tunnel_peer else '{ ' + ', '.join(self.peers) + ' }'} "
            f'drop comment "failover only from the peer {self.peer_words}"',
            f"\t\ttcp dport {self.omapi_port} ip saddr != {{ {admin} }} drop "
            'comment "OMAPI only from the admin addresses"',
            f"\t\tmeta nfproto ipv6 tcp dport {{ {self.failover_port}, {self.omapi_port} }} drop "
            'comment "failover and OMAPI are IPv4 here"',
            "\t}",
        ]
        return "\n".join(lines) + "\n"


def _net_key(text: str):
    net = ipaddress.IPv4Network(text, strict=False)
    return (int(net.network_address), net.prefixlen)


def admin_set(given: tuple[str, ...], ssh_client: str | None) -> tuple[str, ...]:
    if given:
        return tuple(str(ipaddress.IPv4Network(a, strict=False)) for a in given)
    if ssh_client is None:
        return ()
    return (f"{ssh_client}/32",)


def admits(admin: tuple[str, ...], address: str) -> bool:
    ip = ipaddress.IPv4Address(address)
    return any(ip in ipaddress.IPv4Network(a, strict=False) for a in admin)


def planned_digest(ours: str) -> str | None:
    m = re.search(r'comment "dhcp-wizard protect plan ([0-9a-f]{16})"', ours)
    return m.group(1) if m else None


def restore_script(ours_before: str) -> str:
    """An nft script that puts our table back as it was (absent, or its old listing),
    atomically: `nft -f` applies it whole or not at all."""
    out = f"table {FAMILY} {TABLE} {{}}\ndelete table {FAMILY} {TABLE}\n"
    return out + (ours_before.rstrip("\n") + "\n" if ours_before.strip() else "")


def apply_script(plan: Plan) -> str:
    return f"table {FAMILY} {TABLE} {{}}\ndelete table {FAMILY} {TABLE}\n{plan.table}"


def diff(before: str, after: str, role: str, what: str = f"{FAMILY} {TABLE}",
         to: str = "planned") -> str:
    return "".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        f"{role}: {what} (now)", f"{role}: {what} ({to})"))
