"""While one peer is out of service for its upgrade: what the survivor does, read live.

Two readings, each from the survivor itself:
- its failover state over OMAPI (partner-down while it serves everyone alone);
- the clients it served since the window began, from its **lease file** over SSH. dhcpd
  writes a lease to that file before it sends the DHCPACK, so every lease block there whose
  client-last-transaction time (`cltt`) falls after the window began is an ACK the survivor
  gave: while its partner is shut down no binding update arrives from it, so nothing else
  writes such a block. Offers (DISCOVERs answered, never REQUESTed) are not written and not
  counted: what is counted is clients that got a lease.

The file is read from where the last reading stopped (it is append-only between dhcpd's
rewrites); after a rewrite (another inode, or shorter) it is read again from the start, and
blocks already counted are not counted twice: each ACK is one (address, cltt).
"""

from __future__ import annotations

import calendar
import re
import shlex
import time
from dataclasses import dataclass
from typing import Callable

READ_LIMIT = 8 * 1024 * 1024    # a rewritten file is read from its last 8 MB at most

_BLOCK = re.compile(r"^lease\s+(\S+)\s*\{(.*?)^\}", re.S | re.M)
_STATE = re.compile(r"^\s*binding state (\S+);", re.M)
_CLTT = re.compile(r"^\s*cltt\s+([^;]+);", re.M)
_HW = re.compile(r"^\s*hardware \S+ ([0-9a-fA-F:]+);", re.M)


def cltt_epoch(text: str) -> int | None:
    """dhcpd's lease time: `4 2026/12/02 19:50:00` (UTC, the default db-time-format) or
    `epoch 1764705000` (db-time-format local); None for `never` or anything else."""
    words = text.split()
    if len(words) >= 2 and words[0] == "epoch" and words[1].isdigit():
        return int(words[1])
    if len(words) == 3 and words[0].isdigit():
        try:
            return calendar.timegm(time.strptime(f"{words[1]} {words[2]}",
                                                 "%Y/%m/%d %H:%M:%S"))
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Ack:
    address: str
    at: int             # cltt, epoch seconds
    client: str         # hardware address, or the address when the block has none


def acks_in(text: str, since: int) -> tuple[list[Ack], str]:
    """The active lease blocks of `text` written for a transaction at or after `since`,
    and the unfinished tail (a block cut where the read stopped) to read again next time."""
    out = []
    end = 0
    for m in _BLOCK.finditer(text):
        end = m.end()
        body = m.group(2)
        state, cltt = _STATE.search(body), _CLTT.search(body)
        if state is None or state.group(1) != "active" or cltt is None:
            continue
        at = cltt_epoch(cltt.group(1))
        if at is None or at < since:
            continue
        hw = _HW.search(body)
        out.append(Ack(m.group(1), at, hw.group(1).lower() if hw else m.group(1)))
    rest = text[end:]
    # Only a block still being written is kept; a tail without `lease` is nothing to wait for.
    start = rest.find("lease ")
    return out, rest[start:] if start >= 0 else ""


@dataclass(frozen=True)
class SurvivorReading:
    role: str
    state: str | None           # its failover local state; None: OMAPI unreadable
    partner: str | None
    acks: int | None            # ACKs since the window began; None: the file is unreadable
    clients: int | None         # distinct clients among them
    last: str | None            # the last client served: "198.51.100.60 at 19:52:03"
    seconds: float              # since the window began
    error: str | None = None

    def line(self) -> str:
        state = (f"{self.state} (partner {self.partner})" if self.state
                 else f"OMAPI unreadable ({self.error or '?'})")
        served = ("lease file unreadable" if self.acks is None else
                  f"{self.acks} lease(s) given to {self.clients} client(s)"
                  + (f", last {self.last}" if self.last else ""))
        return f"{self.role}: {state}; {served} in the {self.seconds:.0f} s of the window"


class SurvivorWatch:
    """begin() once when the window opens, then poll() as often as wanted (each one SSH
    command and one OMAPI reading); blocking: run it in a worker thread."""

    def __init__(self, conn, role: str, lease_path: str,
                 read_state: Callable[[], object]):
        self.conn, self.role, self.lease_path = conn, role, lease_path
        self.read_state = read_state        # () -> a wizard.ops.omapi.StateSample
        self.since: int | None = None
        self._began = 0.0
        self._file: tuple[str, int] | None = None     # (inode, bytes read)
        self._tail = ""
        self._seen: dict[tuple[str, int], Ack] = {}

    def _stat(self) -> str:
        return f"stat -c '%i %s' {shlex.quote(self.lease_path)} 2>/dev/null || echo missing"

    def begin(self) -> None:
        """The window's start by the survivor's own clock (the lease times are its own), and
        where its lease file ends now."""
        res = self.conn.run(f"date +%s; {self._stat()}", privileged=True, timeout=10,
                            label="survivor watch", quiet=True)
        words = res.stdout.split()
        self._began = time.monotonic()
        self.since = int(words[0]) if words and words[0].isdigit() else int(time.time())
        if len(words) >= 3 and words[1].isdigit() and words[2].isdigit():
            self._file = (words[1], int(words[2]))

    def _read_new(self) -> str:
        """What the lease file gained since the last read (all of it after a rewrite)."""
        path = shlex.quote(self.lease_path)
        inode, offset = self._file or ("", 0)
        res = self.conn.run(
            f"set -- $({self._stat()}); echo \"$*\"; [ \"$1\" = missing ] && exit 0; "
            f"if [ \"${{1:-}}\" = {shlex.quote(inode)} ] && [ \"${{2:-0}}\" -ge {offset} ]; "
            f"then tail -c +{offset + 1} {path} | head -c $(($2 - {offset})); "
            f"else tail -c {READ_LIMIT} {path} | head -c \"$2\"; fi",
            privileged=True, timeout=15, label="survivor watch", quiet=True,
            record_output=False)
        if not res.ok:
            raise OSError(res.stderr.strip() or f"cannot read {self.lease_path}")
        head, _, body = res.stdout.partition("\n")
        words = head.split()
        if len(words) != 2 or not words[1].isdigit():
            raise OSError(f"{self.lease_path} is not there")
        if words[0] != inode or int(words[1]) < offset:
            self._tail = ""                     # rewritten: the whole file again
        # Read up to the size `stat` saw, never past it: the next read starts exactly there.
        self._file = (words[0], int(words[1]))
        return body

    def poll(self) -> SurvivorReading:
        if self.since is None:
            self.begin()
        sample = self.read_state()
        st = getattr(sample, "state", None)
        acks = clients = None
        last = error = None
        try:
            text = self._tail + self._read_new()
            found, self._tail = acks_in(text, self.since)
            for ack in found:
                self._seen[(ack.address, ack.at)] = ack
            acks = len(self._seen)
            clients = len({a.client for a in self._seen.values()})
            if self._seen:
                newest = max(self._seen.values(), key=lambda a: a.at)
                last = f"{newest.address} at {time.strftime('%H:%M:%S', time.localtime(newest.at))}"
        except Exception as exc:  # noqa: BLE001 - a reading that failed is shown as such
            error = str(exc)
        if st is None:
            error = getattr(sample, "error", None) or error
        return SurvivorReading(self.role, st.local_state if st else None,
                               st.partner_state if st else None, acks, clients, last,
                               time.monotonic() - self._began, error)
