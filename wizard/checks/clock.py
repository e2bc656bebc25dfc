"""Clock skew between the two peers: dhcpd refuses its partner beyond 60 s.

Preferred: ask each peer's own NTP service (skew = offset_B - offset_A, error bound
(delay_A + delay_B) / 2), several samples, the lowest-delay one kept, unusable replies
(stratum 0, leap 3) dropped. When a peer does not answer NTP, its clock is read over SSH
(`date +%s.%N`) and placed at the midpoint of the round trip (Cristian's method).
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from wizard.checks.base import Run, guarded
from wizard.roles import ROLES

DHCPD_LIMIT = 60.0
SAMPLES = 4
NTP_TIMEOUT = 0.6


@dataclass(frozen=True)
class Offset:
    """A peer's clock minus ours, as measured."""

    offset: float
    error: float      # half the round trip (+ read resolution)
    method: str       # "ntp" or "ssh"


@dataclass(frozen=True)
class SkewReading:
    skew: float       # secondary minus primary, seconds
    error: float
    method: str
    primary: Offset
    secondary: Offset

    def sentence(self) -> str:
        ahead = "ahead of" if self.skew >= 0 else "behind"
        return (f"secondary is {abs(self.skew):.1f} s {ahead} primary "
                f"(±{self.error:.3f} s, via {self.method})")


def best_ntp_sample(samples) -> Offset | None:
    """Lowest-delay usable sample of ntplib responses (objects with offset, delay, stratum,
    leap). Pure, so the selection rule is tested without a network."""
    usable = [s for s in samples if s.stratum not in (0, 16) and s.leap != 3]
    if not usable:
        return None
    best = min(usable, key=lambda s: s.delay)
    return Offset(best.offset, best.delay / 2, "ntp")


def ntp_offset(address: str, samples: int = SAMPLES, timeout: float = NTP_TIMEOUT) -> Offset | None:
    import ntplib

    client = ntplib.NTPClient()
    got = []
    for _ in range(samples):
        try:
            got.append(client.request(address, version=3, port=123, timeout=timeout))
        except (ntplib.NTPException, OSError):
            # No answer at all on the first try: this peer serves no NTP to us; don't wait more.
            if not got:
                return None
    return best_ntp_sample(got)


def parse_date(stdout: str) -> tuple[float, float] | None:
    """`date +%s.%N` output -> (seconds, resolution error). BSD date prints a literal `N`."""
    text = stdout.strip()
    whole, _, frac = text.partition(".")
    if not whole.isdigit():
        return None
    if frac.isdigit():
        return float(f"{whole}.{frac}"), 0.0
    return float(whole) + 0.5, 0.5


def ssh_offset(conn, samples: int = SAMPLES) -> Offset | None:
    best: Offset | None = None
    for _ in range(samples):
        t0 = time.time()
        res = conn.run("date +%s.%N", timeout=5, label="clock")
        t1 = time.time()
        parsed = parse_date(res.stdout) if res.ok else None
        if parsed is None:
            continue
        remote, resolution = parsed
        sample = Offset(remote - (t0 + t1) / 2, (t1 - t0) / 2 + resolution, "ssh")
        if best is None or sample.error < best.error:
            best = sample
    return best


def peer_offset(conn, ntp_address: str | None) -> Offset | None:
    if ntp_address:
        found = ntp_offset(ntp_address)
        if found is not None:
            return found
    return ssh_offset(conn) if conn is not None else None


def measure(conns: dict, ntp_addresses: dict) -> SkewReading | None:
    """Skew of secondary against primary; None when either clock cannot be read.

    conns / ntp_addresses map "primary"/"secondary" to a Connection and the address to ask
    NTP (None to skip NTP). Both peers are measured in parallel.
    """
    roles = ("primary", "secondary")
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda r: peer_offset(conns.get(r), ntp_addresses.get(r)), roles)
    if a is None or b is None:
        return None
    if a.method != b.method:
        # Mixed methods measure against our clock in different ways; SSH for both is consistent.
        a = ssh_offset(conns["primary"]) if a.method == "ntp" else a
        b = ssh_offset(conns["secondary"]) if b.method == "ntp" else b
        if a is None or b is None:
            return None
    return SkewReading(b.offset - a.offset, a.error + b.error, a.method, a, b)


def measure_connections(conns: dict) -> SkewReading | None:
    """measure() over two SSH connections, NTP asked at the address SSH reached; through a
    jump host that address is not reachable from here, so only SSH reads that clock."""
    return measure(conns, {r: c.remote_address for r, c in conns.items() if not c.target.jumps})


def verdict(reading: SkewReading, limit: float) -> tuple[str, str, str | None]:
    """(status, detail, fix) for a reading against answers.checks.max_skew_seconds."""
    detail = f"{reading.sentence()}; limit {limit:g} s; dhcpd refuses its partner beyond 60 s"
    skew = abs(reading.skew)
    fix = ("run NTP on both peers against the same reliable servers (chrony: `server NAME "
           "iburst` in /etc/chrony/chrony.conf, then `chronyc makestep`); dhcpd's "
           "CONNECT is rejected with `time offset too large` past 60 s")
    if skew - reading.error > limit:
        return "fail", detail, fix
    if skew + reading.error > limit:
        return "warn", detail + " (too close to call within the error bound)", fix
    return "pass", detail, None


# What the facts script's parse writes for a time service that follows nothing but its own
# oscillator: chrony's reference 7F7F0101 (`local stratum N`, no source selected) and ntpd's
# LOCAL driver, 127.127.1.x, as its system peer.
_OWN_CLOCK = re.compile(r"\(its own local clock\)|synchronised to 127\.127\.1\.\d+")
NO_UPSTREAM_FIX = ("give both peers a real upstream: `server NAME iburst` or `pool NAME iburst` "
                   "in chrony.conf (or ntp.conf), the same servers on both; keep "
                   "`local stratum` only as a fallback for when they are unreachable")


def ntp_verdict(role: str, ntp) -> tuple[str, str, str | None]:
    """(status, detail, fix) of one peer's time service, from the facts' NtpStatus.

    A service that serves only its own clock reports itself synchronised, but it is not
    synchronised to anything: the skew check then proves only that the two peers agree with
    each other (if one follows the other, or both share a host's clock), while clients and
    logs keep real time and the lease times the peers hand out drift from it."""
    if ntp.synchronised and _OWN_CLOCK.search(ntp.detail):
        return ("warn", f"{role}: {ntp.detail}: no upstream time server; the peers then "
                "agree only with each other, not with real time", NO_UPSTREAM_FIX)
    if ntp.synchronised:
        return "pass", f"{role}: {ntp.detail}", None
    return ("warn", f"{role}: {ntp.detail}",
            "run chrony or ntpd against reliable servers on both peers")


@guarded("clock-skew")
def clock_check(run: Run, pair) -> None:
    conns = {r: pair.conn(r) for r in ROLES if pair.conn(r) is not None}
    if len(conns) < 2:
        run.add("clock-skew", None, "skip", "needs both peers reachable over SSH")
        return
    reading = measure_connections(conns)
    if reading is None:
        run.add("clock-skew", None, "fail", "cannot read both clocks (no NTP answer and "
                "`date +%s.%N` failed over SSH)", "check that `date` works on both peers")
        return
    if run.session is not None:
        run.session.event("clock", "reading", skew=reading.skew, error=reading.error,
                          method=reading.method)
    status, detail, fix = verdict(reading, run.answers.checks.max_skew_seconds)
    run.add("clock-skew", "secondary" if status == "fail" else None, status, detail, fix)
