"""The session record: deployment evidence written as it happens.

A session directory holds `events.jsonl` (one JSON event a line, appended and flushed one by
one, so a crash loses nothing already done) and `artifacts/` (files such as configs before and
after, each hashed in an event and never written over). Each event carries the sha256 of the
line before it, so `verify` can tell a complete, untouched record from an edited one.

Secrets never reach the disk: every string passes through the redactor
(wizard.record.redaction).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wizard.record.redaction import MASK, Recent, Redactor  # noqa: F401 - MASK: the record's mask


def default_sessions_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dhcp-wizard" / "sessions"


def _now() -> tuple[float, str]:
    ts = time.time()
    iso = datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")
    return ts, iso.replace("+00:00", "Z")


class Session:
    """An open session record. Thread-safe: both hosts are worked on in parallel."""

    def __init__(self, path: Path, redactor: Redactor | None = None):
        self.path = Path(path)
        self.redactor = redactor or Redactor()
        self.artifacts_dir = self.path / "artifacts"
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        self._events_path = self.path / "events.jsonl"
        self._lock = threading.Lock()
        self._seq = 0
        self._prev = "0" * 64
        self._counts: Counter[tuple[str, str]] = Counter()
        # name -> (sha256, size, mtime) of the artifacts this object wrote: the report at the end
        # need not read megabytes back to learn the hashes it has just computed.
        self._written: dict[str, tuple[str, int, int]] = {}
        # Masked text -> its bytes' sha256, for one text stored twice (a secondary copied
        # from its primary, before the plan).
        self._digests = Recent()
        if self._events_path.exists():
            # Reopened (e.g. `--session DIR` given twice): continue the chain and the counts.
            for line in self._events_path.read_bytes().splitlines():
                if line.strip():
                    self._seq += 1
                    self._prev = hashlib.sha256(line).hexdigest()
                    self._count_line(line)
        self._fh = open(self._events_path, "ab")

    @classmethod
    def create(cls, path: str | Path | None = None, *, command: str = "",
               redactor: Redactor | None = None) -> "Session":
        if path is None:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
            path = default_sessions_dir() / stamp
        session = cls(Path(path), redactor)
        if session._seq == 0:
            from wizard import __version__

            session.event("session", "start", command=command, version=__version__,
                          pid=os.getpid(), cwd=os.getcwd())
        return session

    def event(self, step: str, kind: str, host: str | None = None, **data: Any) -> dict:
        ts, iso = _now()
        with self._lock:
            self._seq += 1
            record = {"seq": self._seq, "ts": iso, "t": round(ts, 6), "step": step,
                      "host": host, "kind": kind, "data": self.redactor.value(data),
                      "prev": self._prev}
            try:
                line = json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                # A byte of a config that is not UTF-8 (a Latin-1 file name in an include) is
                # a lone surrogate here: escaped as JSON writes it (\udce9), it reads back as
                # the same string, where UTF-8 cannot hold it at all.
                line = json.dumps(record, sort_keys=True).encode("ascii")
            self._fh.write(line + b"\n")
            self._fh.flush()
            self._prev = hashlib.sha256(line).hexdigest()
            self._counts[(step, kind)] += 1
        return record

    def count(self, step: str, kind: str) -> int:
        """How many such events the record holds so far (e.g. plans, to number the next)."""
        with self._lock:
            return self._counts[(step, kind)]

    def _count_line(self, line: bytes) -> None:
        try:
            event = json.loads(line)
            self._counts[(event["step"], event["kind"])] += 1
        except (ValueError, KeyError, TypeError):
            pass  # a damaged line counts for nothing; `verify` names it

    def artifact(self, name: str, content: str | bytes, *, step: str, host: str | None = None,
                 **data: Any) -> Path:
        """Store a file (redacted) and record its sha256 in an event.

        A name is written once: an artifact already hashed in the record is evidence, and
        writing over it would make `verify` fail an honest session. Callers that store the
        same kind of file again (a second plan) give it a name of its own."""
        if "/" in name or name.startswith("."):
            raise ValueError(f"artifact name {name!r} must be a plain file name")
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        # surrogateescape: a config's non-UTF-8 byte (Latin-1 comment) is kept as it was read.
        masked = self.redactor.text(text)
        body = masked.encode("utf-8", "surrogateescape")
        with self._lock:
            digest = self._digests.get(masked)
        target = self.artifacts_dir / name
        try:
            # O_EXCL makes the refusal atomic between threads; 0600 from the first byte.
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ValueError(f"artifact {name} is already in this session; an artifact is "
                             "never overwritten, so each needs its own name") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            stamp = os.fstat(fh.fileno()).st_mtime_ns
        if digest is None:
            digest = hashlib.sha256(body).hexdigest()
            with self._lock:
                self._digests.put(masked, digest)
        self._written[name] = (digest, len(body), stamp)
        self.event(step, "artifact", host, name=name, sha256=digest, bytes=len(body), **data)
        return target

    def report(self) -> tuple[Path, Path]:
        """report.md and report.html as the record stands now, marked as written while the
        session is open; close() writes them again with the end."""
        from wizard.record.evidence import report

        # Held so that no event is half written while the report reads the record.
        with self._lock:
            return report(self.path, still_open=not self._fh.closed, written=self._written)

    def close(self, status: str = "done", **data: Any) -> None:
        if self._fh.closed:
            return
        self.event("session", "end", status=status, **data)
        self._fh.close()
        from wizard.record.evidence import report

        try:
            report(self.path, written=self._written)
        except OSError:
            pass  # the record itself is complete; `dhcp-wizard report` can rebuild this

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("error" if exc_type else "done",
                   **({"error": str(exc)} if exc_type else {}))


def read_events(path: str | Path) -> list[dict]:
    events_path = Path(path) / "events.jsonl"
    return [json.loads(line) for line in events_path.read_text("utf-8").splitlines() if line]
