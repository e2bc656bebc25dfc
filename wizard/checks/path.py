"""The path between the failover addresses, seen from each peer: one segment or routed (and
across which networks), round-trip time and loss against max-response-delay, path MTU.

One shell script per peer, over its SSH session, with whatever the host has: tracepath
(hops and path MTU in one go), else traceroute, else only ping (hops from the TTL of the
replies); the MTU from tracepath, else from pings with DF set at a few sizes. The tool used is
named in each verdict. Nothing here needs root: ping and tracepath run as any user on the
usual distributions; where ping is refused to a sudo login, the script runs again through sudo.

The guide's closing section is the reason for the trust verdict: the failover dialogue is
neither encrypted nor authenticated, so a pair whose traffic crosses networks the operator
does not trust ([protect] trusted) should be tunnelled.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field

from wizard.checks.base import Run, guarded
from wizard.roles import OTHER

# A 0.5 s burst: enough to see loss, short for `check`. iputils before 2021 refuses users an
# interval under 0.2 s, BusyBox has no -i: the script falls back to those in turn.
PING_COUNT, PING_INTERVAL = 10, 0.05
MAX_HOPS = 16
# ping -s payloads with DF set, largest first (+28 bytes of IP and ICMP headers): 1500, the
# usual tunnel MTUs (PPPoE 1492, WireGuard 1420, IPsec ~1400), 1280, and below.
DF_PAYLOADS = (1472, 1464, 1392, 1372, 1252, 1172, 972, 548)
LOW_MTU = 1280
SCRIPT_TIMEOUT = 15.0

GUIDE_ADVICE = ("the guide's advice for pairs whose failover traffic traverses insecure "
                "networks: the dialogue between failover partners is neither encrypted nor "
                "authenticated, so tunnel it (a VPN such as WireGuard or IPsec between the "
                "peers) and point `address`/`peer address` at the tunnel")


def path_script(peer: str) -> str:
    """Everything measured at once (in parallel on the host), each tool's output in a
    section of its own."""
    p = shlex.quote(peer)
    df = " ".join(str(s) for s in DF_PAYLOADS)
    return f"""
PATH=$PATH:/usr/sbin:/sbin:/usr/bin:/bin
T=; command -v timeout >/dev/null 2>&1 && T="timeout {int(SCRIPT_TIMEOUT) - 5}"
d=$(mktemp -d 2>/dev/null || echo /tmp/dhw-path.$$); mkdir -p "$d"
trap 'rm -rf "$d"' EXIT
echo "@@addr"; ip -4 -o addr show 2>/dev/null
echo "@@route"; ip -4 route get {p} 2>/dev/null
if command -v tracepath >/dev/null 2>&1; then
  echo tracepath >"$d/tool"; ($T tracepath -n -m {MAX_HOPS} {p} >"$d/trace" 2>&1) &
elif command -v traceroute >/dev/null 2>&1; then
  echo traceroute >"$d/tool"; ($T traceroute -n -w 1 -q 1 -m {MAX_HOPS} {p} >"$d/trace" 2>&1) &
fi
if command -v ping >/dev/null 2>&1; then
  ($T ping -n -c {PING_COUNT} -i {PING_INTERVAL} -W 1 {p} >"$d/ping" 2>&1 ||
   if grep -q "interval" "$d/ping"; then $T ping -n -c {PING_COUNT} -i 0.2 -W 1 {p} >"$d/ping" 2>&1
   elif grep -qi -e "invalid option" -e "unrecognized option" "$d/ping"; then
     $T ping -c 3 {p} >"$d/ping" 2>&1; fi) &
  for s in {df}; do
    (ping -n -c 1 -W 1 -M do -s $s {p} >/dev/null 2>&1 && echo "$s ok" >"$d/df.$s" ||
     echo "$s no" >"$d/df.$s") &
  done
fi
wait
echo "@@tool"; cat "$d/tool" 2>/dev/null
echo "@@trace"; cat "$d/trace" 2>/dev/null
echo "@@ping"; cat "$d/ping" 2>/dev/null
echo "@@df"; cat "$d"/df.* 2>/dev/null
echo "@@end"
"""


def sections(output: str) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("@@"):
            current = line[2:].strip()
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def interface_networks(text: str) -> list[ipaddress.IPv4Interface]:
    """The host's IPv4 addresses with their prefixes, from `ip -4 -o addr show`."""
    found = re.findall(r"\binet (\d+\.\d+\.\d+\.\d+/\d+)", text)
    return [ipaddress.IPv4Interface(a) for a in found if not a.startswith("127.")]


@dataclass
class Trace:
    tool: str                              # "tracepath", "traceroute", "ping ttl" or "none"
    hops: int | None = None                # hops to the peer (1 = same segment)
    reached: bool = False
    routers: list[str] = field(default_factory=list)   # addresses of the hops before the peer
    pmtu: int | None = None


_HOP = re.compile(r"^\s*(\d+)\??:\s+(\S+)")


def parse_tracepath(text: str, peer: str) -> Trace:
    trace = Trace("tracepath")
    by_hop: dict[int, str] = {}
    for line in text.splitlines():
        m = re.search(r"\bpmtu (\d+)", line)
        if m:
            trace.pmtu = int(m.group(1))   # the last one said is the path's
        m = re.search(r"Resume: pmtu \d+ hops (\d+)", line)
        if m:
            trace.hops = int(m.group(1))
        m = _HOP.match(line)
        if m and m.group(2) != "[LOCALHOST]":
            n, addr = int(m.group(1)), m.group(2)
            if _is_ipv4(addr):
                by_hop.setdefault(n, addr)
            if addr == peer or line.rstrip().endswith("reached"):
                trace.reached = True
                trace.hops = trace.hops or n
    trace.routers = [a for n, a in sorted(by_hop.items()) if a != peer]
    if not trace.reached:
        trace.hops = None
    return trace


def parse_traceroute(text: str, peer: str) -> Trace:
    trace = Trace("traceroute")
    by_hop: dict[int, str] = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(\d+)\s+(\S+)", line)
        if not m:
            continue
        n, addr = int(m.group(1)), m.group(2)
        if _is_ipv4(addr):
            by_hop[n] = addr
            if addr == peer:
                trace.reached, trace.hops = True, n
                break
    trace.routers = [a for n, a in sorted(by_hop.items()) if a != peer]
    return trace


@dataclass(frozen=True)
class Ping:
    sent: int
    received: int
    rtt_min: float | None = None           # ms
    rtt_avg: float | None = None
    rtt_max: float | None = None
    ttl: int | None = None
    error: str | None = None

    @property
    def loss(self) -> float:
        return 100.0 * (self.sent - self.received) / self.sent if self.sent else 100.0


def parse_ping(text: str) -> Ping:
    m = re.search(r"(\d+) packets transmitted, (\d+) (?:packets )?received", text)
    if not m:
        lines = [line for line in text.strip().splitlines() if line.strip()]
        return Ping(0, 0, error=(lines[-1] if lines else "no output")[:200])
    sent, received = int(m.group(1)), int(m.group(2))
    rtt = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)", text)
    ttls = [int(t) for t in re.findall(r"\bttl=(\d+)", text)]
    return Ping(sent, received, *(float(x) for x in rtt.groups()) if rtt else (None,) * 3,
                ttl=max(ttls) if ttls else None)


def hops_from_ttl(ttl: int) -> int:
    """Hops from the TTL a reply arrived with: hosts start at 64 (Linux, BSD), 128
    (Windows) or 255 (network gear); each router on the way takes one off."""
    start = next(s for s in (64, 128, 255) if ttl <= s)
    return start - ttl + 1


def parse_df(text: str) -> int | None:
    """The largest packet (bytes, headers included) that passed with DF set."""
    ok = [int(m) for m in re.findall(r"^(\d+) ok$", text, re.M)]
    return max(ok) + 28 if ok else None


def _is_ipv4(word: str) -> bool:
    try:
        ipaddress.IPv4Address(word)
        return True
    except ValueError:
        return False


@dataclass
class PathReport:
    """What one peer saw of the path to the other (pure: built from the script's output)."""
    source: str                            # this peer's failover address
    peer: str
    networks: list[ipaddress.IPv4Interface]
    trace: Trace
    ping: Ping
    mtu: int | None
    mtu_tool: str | None
    ping_refused: bool = False

    @property
    def on_link(self) -> ipaddress.IPv4Interface | None:
        """The interface subnet of this host that holds the peer address, if any."""
        peer = ipaddress.IPv4Address(self.peer)
        return next((n for n in self.networks if peer in n.network), None)

    @property
    def routed(self) -> bool | None:
        if self.trace.hops is not None:
            return self.trace.hops > 1
        return None if self.on_link is None and not self.networks else self.on_link is None


def parse_report(output: str, source: str, peer: str) -> PathReport:
    s = sections(output)
    tool = s.get("tool", "").strip()
    if tool == "tracepath":
        trace = parse_tracepath(s.get("trace", ""), peer)
    elif tool == "traceroute":
        trace = parse_traceroute(s.get("trace", ""), peer)
    else:
        trace = Trace("none")
    ping = parse_ping(s.get("ping", ""))
    if trace.hops is None and ping.ttl is not None:
        routers = trace.routers
        trace = Trace("ping ttl", hops=hops_from_ttl(ping.ttl), reached=True,
                      routers=routers if tool != "none" else [], pmtu=trace.pmtu)
    df = parse_df(s.get("df", ""))
    if tool == "tracepath" and trace.pmtu is not None:
        mtu, mtu_tool = trace.pmtu, "tracepath"
    elif df is not None:
        mtu, mtu_tool = df, "ping -M do"
    else:
        mtu, mtu_tool = None, None
    refused = bool(re.search(r"operation not permitted|permission denied|socket: ",
                             s.get("ping", ""), re.I))
    return PathReport(source, peer, interface_networks(s.get("addr", "")), trace, ping,
                      mtu, mtu_tool, ping_refused=refused)


# -- judgements (pure) ------------------------------------------------------------------------

def untrusted(report: PathReport, trusted: tuple[str, ...]) -> list[str]:
    """The addresses on the path (this end, each router seen, the peer) that no trusted
    network holds."""
    nets = [ipaddress.IPv4Network(t) for t in trusted]
    on_path = [report.source, *report.trace.routers, report.peer]
    return [a for a in dict.fromkeys(on_path)
            if _is_ipv4(a) and not any(ipaddress.IPv4Address(a) in n for n in nets)]


def judge_route(role: str, report: PathReport, trusted: tuple[str, ...]):
    """(status, detail, fix) of the `path` check."""
    where = f"{role} {report.source} -> {OTHER[role]} {report.peer}"
    link = report.on_link
    inside = (f"{report.peer} is inside {role}'s subnet {link.network} ({link.ip})" if link
              else f"{report.peer} is in none of {role}'s subnets "
              f"({', '.join(str(n.network) for n in report.networks) or 'none found'})")
    tool = report.trace.tool
    if report.routed is None:
        return ("skip", f"{where}: cannot tell one segment from routed ({role} has no "
                "tracepath, traceroute or ping, no `ip addr`, and the peer gave no reply)",
                None)
    hops = report.trace.hops
    hops_txt = f"{hops} hop{'s' if hops != 1 else ''} ({tool})" if hops else "hops unknown"
    if not report.routed:
        return ("pass", f"{where}: one segment, {hops_txt}; {inside}", None)
    via = (f" via {', '.join(report.trace.routers)}" if report.trace.routers else
           " (the routers on the way did not show themselves)" if tool != "ping ttl" else
           " (ping's TTL counts the routers but does not name them)")
    detail = f"{where}: routed, {hops_txt}{via}; {inside}"
    outside = untrusted(report, trusted)
    if not outside:
        return ("pass", f"{detail}; every address on the path is in [protect] trusted", None)
    unnamed = tool == "ping ttl" or not report.trace.routers
    return ("warn",
            f"{detail}; failover traffic crosses networks not declared trusted "
            f"({', '.join(outside)}{' and routers it could not name' if unnamed else ''})",
            f"{GUIDE_ADVICE}; or, if every network on the way is your own, declare it in "
            f"the answers: [protect] trusted = [\"CIDR\", ...]")


def judge_rtt(role: str, report: PathReport, max_response_delay: int):
    where = f"{role} -> {OTHER[role]} {report.peer}"
    ping = report.ping
    if ping.sent == 0:
        return ("skip", f"{where}: no round-trip figures ({ping.error or 'no ping on the host'})",
                None)
    if ping.received == 0:
        return ("warn", f"{where}: no reply to {ping.sent} pings (ICMP echo filtered, or the "
                "path is down): round-trip time and loss unknown",
                "allow ICMP echo between the peers, so the path can be measured")
    budget_ms = max_response_delay * 1000.0
    figures = (f"round trip {ping.rtt_min:g}/{ping.rtt_avg:g}/{ping.rtt_max:g} ms "
               f"(min/avg/max), {ping.loss:.0f}% loss of {ping.sent} (ping)")
    if ping.rtt_max is not None and ping.rtt_max >= budget_ms / 10:
        return ("warn", f"{where}: {figures}; the worst round trip is "
                f"{ping.rtt_max / budget_ms:.0%} of max-response-delay {max_response_delay} s",
                "a partner silent for max-response-delay is taken for down: raise "
                "failover.max_response_delay, or fix the path's latency")
    if ping.loss > 0:
        return ("warn", f"{where}: {figures}; lost packets are retransmitted by TCP, but "
                f"sustained loss delays failover messages toward max-response-delay "
                f"{max_response_delay} s and can interrupt the partnership",
                "find where packets are dropped between the peers (`mtr` or a longer ping)")
    margin = budget_ms / ping.rtt_max if ping.rtt_max else None
    return ("pass", f"{where}: {figures}; max-response-delay {max_response_delay} s is "
            + (f"{margin:,.0f}x the worst round trip" if margin else "far above it"), None)


def judge_mtu(role: str, report: PathReport):
    where = f"{role} -> {OTHER[role]} {report.peer}"
    if report.mtu is None:
        return ("skip", f"{where}: path MTU unknown (no tracepath, and no ping with DF "
                "set got through)", None)
    said = f"{where}: path MTU {report.mtu} ({report.mtu_tool})"
    if report.mtu < LOW_MTU:
        return ("warn", f"{said}, below {LOW_MTU}: failover messages carry whole lease "
                "bindings and an update burst fills full-size segments; on such a path TCP "
                "depends on path-MTU discovery, and where the ICMP 'fragmentation needed' "
                "replies are filtered the large messages vanish while small ones pass (a "
                "partnership that connects, then stalls in communications-interrupted)",
                "raise the MTU of the link or tunnel on the way, or clamp the MSS for the "
                "failover ports (nft: `tcp flags syn tcp option maxseg size set rt mtu`)")
    return ("pass", f"{said}", None)


# -- the check -------------------------------------------------------------------------------

def measure(conn, source: str, peer: str) -> tuple[PathReport, str]:
    """Run the script on one peer; the report and the raw output (for the session)."""
    script = path_script(peer)
    res = conn.run("sh -s", stdin=script, timeout=SCRIPT_TIMEOUT, label=f"path to {peer}")
    report = parse_report(res.stdout, source, peer)
    if report.ping_refused and conn.sudo:
        # Some hosts give ping's raw socket to root alone; a sudo login still measures.
        res = conn.run("sh -s", stdin=script, privileged=True, timeout=SCRIPT_TIMEOUT,
                       label=f"path to {peer}")
        report = parse_report(res.stdout, source, peer)
    return report, res.stdout


@guarded("path")
def path_check(run: Run, pair, role: str) -> None:
    from wizard.checks.ports import _failover_endpoint

    other = OTHER[role]
    conn = pair.conn(role)
    source, _ = _failover_endpoint(run, pair, role)
    peer, _ = _failover_endpoint(run, pair, other)
    if conn is None or peer is None or source is None:
        why = f"{role} not reachable over SSH" if conn is None else "failover addresses unknown"
        said = f"{role} -> {other}: not measured ({why})"
        run.add("path", role, "skip", said)
        run.add("path-rtt", role, "skip", said)
        run.add("path-mtu", role, "skip", said)
        return
    report, raw = measure(conn, source, peer)
    trusted = run.answers.protect.trusted
    mrd = run.answers.failover.max_response_delay
    if run.session is not None:
        run.session.event("path", "measured", host=role, source=source, peer=peer,
                          tool=report.trace.tool, hops=report.trace.hops,
                          routers=report.trace.routers, in_subnet=str(report.on_link.network)
                          if report.on_link else None, rtt_ms=[report.ping.rtt_min,
                          report.ping.rtt_avg, report.ping.rtt_max], loss_pct=report.ping.loss,
                          sent=report.ping.sent, mtu=report.mtu, mtu_tool=report.mtu_tool,
                          trusted=list(trusted), output=raw[:4000])
    run.add("path", role, *judge_route(role, report, trusted))
    run.add("path-rtt", role, *judge_rtt(role, report, mrd))
    run.add("path-mtu", role, *judge_mtu(role, report))
