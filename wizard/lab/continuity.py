"""Service continuity during a fault: a client on the lab segment asks for an address every
second in the background, and afterwards says when nobody answered.

    with Continuity(spec, every=1.0) as probe:
        ...                                   # kill a server, pull a cable, deploy
    report = probe.report()
    assert report.unanswered == 0, report.line()

What a request is: a DHCPDISCOVER from a client without a lease, sent by
wizard/lab/discover_loop.py inside the lab's client namespace. It is **answered** when at
least one server sends a DHCPOFFER for it within `window` seconds (default 3 s, less than the
~4 s after which a real client would send its DISCOVER again). That is exactly "a client
starting up now would be served": a server in failover startup, recover, recover-wait,
shutdown or potential-conflict offers nothing; in normal with load balancing only the server
that owns the client offers, which is why every request records who answered.

No REQUEST is ever sent, so no lease is committed. dhcpd does hold an offered address for its
client for a while, so a fresh MAC per request would drain a lab pool (56 addresses in a /25
lab) within a minute and the probe would report the outage it caused. The requests therefore
rotate over a few fixed client identities (IDENTITIES, the same for every run on one lab): the
servers re-offer each the address it was offered before, and the probe holds at most that
many addresses however long it runs. The identities are spread by hash, so under load
balancing both servers own some of them. The first offer to each identity takes about 1 s
(dhcpd pings a new address before offering it); later ones come in well under 10 ms.

A **gap** is a run of unanswered requests: it lasts from the first unanswered request until
the next answered one (or, at the end, until the next request would have gone out), so one
missed request is a gap of `every` seconds and the figures are exact to within `every`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from wizard.errors import InputError
from wizard.lab import namespaces as ns
from wizard.lab.spec import ROLES, LabError, LabSpec

IDENTITIES = 8          # must match discover_loop.identities()'s default
MAX_SECONDS = 600.0     # a probe stops by itself after this, forgotten or not
DEFAULT_WINDOW = 3.0


@dataclass(frozen=True)
class Request:
    seq: int
    t: float                    # epoch seconds at which the DISCOVER left
    answered: bool
    servers: tuple[str, ...]    # server identifiers that offered, first answer first
    latency: float | None       # seconds from DISCOVER to the first OFFER
    address: str | None         # what the first OFFER offered
    error: str | None = None

    def line(self, t0: float, names: dict[str, str]) -> str:
        when = f"+{self.t - t0:6.1f}s"
        if not self.answered:
            return f"{when}  #{self.seq:<4} UNANSWERED" + (f" ({self.error})" if self.error else "")
        who = ", ".join(_name(s, names) for s in self.servers)
        return f"{when}  #{self.seq:<4} offer {self.address} from {who} in {self.latency * 1000:.1f} ms"


@dataclass(frozen=True)
class Gap:
    start: float                # epoch seconds of the first unanswered request
    seconds: float
    requests: int


@dataclass(frozen=True)
class Report:
    requests: tuple[Request, ...]
    every: float
    window: float
    names: dict[str, str]       # server address -> lab role

    @property
    def unanswered(self) -> int:
        return sum(not r.answered for r in self.requests)

    @property
    def gaps(self) -> list[Gap]:
        gaps, run = [], []
        for r in self.requests:
            if not r.answered:
                run.append(r)
                continue
            if run:
                gaps.append(Gap(run[0].t, r.t - run[0].t, len(run)))
                run = []
        if run:
            gaps.append(Gap(run[0].t, run[-1].t + self.every - run[0].t, len(run)))
        return gaps

    @property
    def longest_gap(self) -> float:
        """Seconds of the longest stretch without service; 0.0 when every request was answered."""
        return round(max((g.seconds for g in self.gaps), default=0.0), 3)

    @property
    def served_by(self) -> dict[str, int]:
        """Each server (by lab role where known) and how many requests it offered to."""
        counts: dict[str, int] = {}
        for r in self.requests:
            for s in r.servers:
                counts[_name(s, self.names)] = counts.get(_name(s, self.names), 0) + 1
        return dict(sorted(counts.items()))

    @property
    def duration(self) -> float:
        if not self.requests:
            return 0.0
        return round(self.requests[-1].t - self.requests[0].t + self.every, 3)

    def line(self) -> str:
        n = len(self.requests)
        if n == 0:
            return "continuity: no request was sent"
        served = ", ".join(f"{k} {v}" for k, v in self.served_by.items()) or "nobody"
        latencies = sorted(r.latency for r in self.requests if r.latency is not None)
        median = f", median offer {latencies[len(latencies) // 2] * 1000:.1f} ms" if latencies else ""
        gap = ""
        if self.gaps:
            worst = max(self.gaps, key=lambda g: g.seconds)
            gap = (f", longest gap {worst.seconds:.1f} s from "
                   f"{time.strftime('%H:%M:%S', time.localtime(worst.start))}")
        return (f"continuity: {n} requests over {self.duration:.0f} s (every {self.every:g} s), "
                f"{self.unanswered} unanswered{gap}; served by {served}{median}")

    def as_dict(self) -> dict:
        return {
            "summary": {"requests": len(self.requests), "unanswered": self.unanswered,
                        "longest_gap": self.longest_gap, "served_by": self.served_by,
                        "gaps": [asdict(g) for g in self.gaps], "every": self.every,
                        "window": self.window, "duration": self.duration},
            "requests": [{**asdict(r), "servers": list(r.servers),
                          "server_roles": [_name(s, self.names) for s in r.servers]}
                         for r in self.requests],
        }


def _name(server: str, names: dict[str, str]) -> str:
    return names.get(server, server)


def _check_timing(every: float, window: float, max_seconds: float) -> None:
    if not 0.5 <= every <= 60:
        raise InputError(f"a probe interval of {every:g} s is out of range",
                         "use 0.5 to 60 seconds between requests")
    if not 0.2 <= window <= 10:
        raise InputError(f"an answer window of {window:g} s is out of range",
                         "use 0.2 to 10 seconds")
    if window >= IDENTITIES * every:
        # One identity may not have two DISCOVERs in flight, or the answers get mixed up.
        raise InputError(f"an answer window of {window:g} s is too long for requests every "
                         f"{every:g} s", f"keep it under {IDENTITIES * every:g} s")
    if not 0 < max_seconds <= MAX_SECONDS:
        raise InputError(f"a probe of {max_seconds:g} s is out of range",
                         f"probe for at most {MAX_SECONDS:g} s")


class Continuity:
    """The background probe. Use as a context manager, or start() and stop() it."""

    def __init__(self, spec: LabSpec, every: float = 1.0, window: float | None = None,
                 max_seconds: float = MAX_SECONDS, on_request=None):
        window = min(DEFAULT_WINDOW, IDENTITIES * every - 0.1) if window is None else window
        _check_timing(every, window, max_seconds)
        self.spec, self.every, self.window = spec, every, window
        self.max_seconds = max_seconds
        self.on_request = on_request
        self.names = {spec.address(r): r for r in ROLES}
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._failure: str | None = None
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._stderr = None

    def __enter__(self) -> "Continuity":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        netns = self.spec.netns("client")
        if not ns.netns_exists(netns):
            raise LabError(f"the lab {self.spec.name!r} is not up (no namespace {netns})",
                           "run `dhcp-wizard lab up` first")
        count = max(1, round(self.max_seconds / self.every))
        argv = ["ip", "netns", "exec", netns, sys.executable, "-m", "wizard.lab.discover_loop",
                "eth0", f"{self.every:g}", str(count), f"{self.window:g}",
                f"dhcp-wizard-continuity/{self.spec.name}"]
        root = str(Path(__file__).resolve().parents[2])
        env = ns.clean_env(PYTHONPATH=root)
        self._stderr = tempfile.TemporaryFile(mode="w+")
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self._stderr, text=True, env=env, cwd=root)
        except FileNotFoundError:
            raise LabError("command not found: ip", "run `make setup` (or scripts/setup.sh)")
        self._reader = threading.Thread(target=self._read, name="continuity-reader", daemon=True)
        self._reader.start()
        if not self._ready.wait(10) or self._failure:
            self.stop()
            raise LabError(f"the continuity probe did not start in {netns}: "
                           f"{self._failure or 'no answer within 10 s'}",
                           "it needs root; is another DHCP client using udp/68 there without "
                           "SO_REUSEADDR?")

    def _read(self) -> None:
        for line in self._proc.stdout:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if "ready" in obj:
                self._ready.set()
            elif "error" in obj and "seq" not in obj:
                self._failure = obj["error"]
                self._ready.set()
            elif "seq" in obj:
                req = Request(seq=obj["seq"], t=obj["t"], answered=obj["answered"],
                              servers=tuple(obj["servers"]), latency=obj["latency"],
                              address=obj["address"], error=obj.get("error"))
                with self._lock:
                    self._requests.append(req)
                if self.on_request is not None:
                    self.on_request(req)
        if not self._ready.is_set():
            self._failure = self._stderr_tail() or "the probe exited at once"
            self._ready.set()

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            return " ".join(self._stderr.read().strip().splitlines()[-3:])
        except (OSError, ValueError):
            return ""

    @property
    def t0(self) -> float | None:
        with self._lock:
            return self._requests[0].t if self._requests else None

    def stop(self) -> Report:
        """Stop sending; the requests still open get their full window, then the report."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()      # the loop's signal to stop sending
            except OSError:
                pass
            try:
                proc.wait(timeout=self.window + 5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        return self.report()

    def report(self) -> Report:
        """The requests reported so far (all of them once stopped)."""
        with self._lock:
            requests = tuple(sorted(self._requests, key=lambda r: r.seq))
        return Report(requests, self.every, self.window, dict(self.names))

    def wait(self, seconds: float) -> bool:
        """Sleep while probing, at most `seconds`; True when the probe has run its course."""
        deadline = time.monotonic() + seconds
        while self._proc is not None and self._proc.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(0.2, left))
        return True


def probe(spec: LabSpec, every: float, seconds: float, on_request=None) -> Report:
    """`seconds / every` requests (what `lab probe` runs); Ctrl-C ends it early, with a report."""
    with Continuity(spec, every=every, max_seconds=seconds, on_request=on_request) as p:
        try:
            p.wait(seconds + p.window + 5)
        except KeyboardInterrupt:
            pass
    return p.report()

