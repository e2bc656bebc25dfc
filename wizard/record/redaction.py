"""Secrets never reach the disk: every string of the record passes through a Redactor, which
knows the registered secrets and masks `secret ...;` statements in dhcpd config text.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

MASK = "***REDACTED***"

# `secret "..." ;` or `secret BASE64;` inside a dhcpd key block.
_SECRET_STATEMENT = re.compile(r'(\bsecret\s+)("[^"]*"|[^;\s]+)(\s*;)', re.IGNORECASE)


def _mask_statements(value: str) -> str:
    """_SECRET_STATEMENT.sub(...), but only tried where `secret` is written: a config of a
    million characters has a handful, and the regex alone costs tens of milliseconds."""
    low = value.lower()
    # Lowering must keep offsets, and `\u017f` (long s) matches `s` case-insensitively.
    if len(low) != len(value) or "\u017f" in value:
        return _SECRET_STATEMENT.sub(lambda m: m.group(1) + MASK + m.group(3), value)
    at = low.find("secret")
    if at < 0:
        return value
    out = []
    done = 0
    while at >= 0:
        m = _SECRET_STATEMENT.match(value, at)
        if m is None:
            at = low.find("secret", at + 1)
            continue
        out += (value[done:m.end(1)], MASK, m.group(3))
        done = m.end()
        at = low.find("secret", done)
    out.append(value[done:])
    return "".join(out)


# Every secret any Redactor of this process was told, for text written outside a session
# (the crash file): a traceback may quote one in an exception's message.
_PROCESS_SECRETS: set[str] = set()
# In free text (an exception's message) a secret may stand without the statement's `;`.
_SECRET_WORD = re.compile(r'(\bsecret\s+)("[^"]*"|[^\s;,)\'"]+)', re.IGNORECASE)


def scrub(text: str) -> str:
    """Free text with every known secret and every `secret X` masked: for what is written
    where no session's redactor stands (a crash report)."""
    text = _SECRET_WORD.sub(lambda m: m.group(1) + MASK, text)
    for secret in sorted(_PROCESS_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class Recent:
    """What was worked out for the last few large texts, found again by the text's identity:
    a plan's files before and after, for both servers (a secondary copied from its primary is
    one string for both), each pass over a campus config costing milliseconds. The text is
    held, so that its id is not taken by another meanwhile; texts past a few megabytes are
    not (what memory they would hold weighs more than the time)."""

    def __init__(self, size: int = 4):
        self._size = size
        self._items: dict[int, tuple[str, object, object]] = {}

    def get(self, text: str, stamp: object = None):
        item = self._items.get(id(text))
        return item[2] if item is not None and item[0] is text and item[1] == stamp else None

    def put(self, text: str, value: object, stamp: object = None) -> None:
        if not 65536 < len(text) <= 8_000_000:  # small ones cost less than the bookkeeping
            return
        if len(self._items) >= self._size and id(text) not in self._items:
            del self._items[next(iter(self._items))]  # the oldest
        self._items[id(text)] = (text, stamp, value)


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        # Large texts masked lately, with how many secrets were known then.
        self._recent = Recent()

    def add(self, secret: str | bytes | None) -> None:
        if not secret:
            return
        if isinstance(secret, bytes):
            secret = secret.decode("utf-8", "replace")
        # Short strings would mask innocent text everywhere; real secrets are long.
        if len(secret) >= 6:
            with self._lock:
                self._secrets.add(secret)
                _PROCESS_SECRETS.add(secret)

    def text(self, value: str) -> str:
        with self._lock:
            known, seen = len(self._secrets), self._recent.get(value, len(self._secrets))
            secrets = sorted(self._secrets, key=len, reverse=True)
        if seen is not None:  # masked already, and no secret added since
            return seen
        masked = _mask_statements(value)
        for secret in secrets:
            if secret in masked:
                masked = masked.replace(secret, MASK)
        with self._lock:
            self._recent.put(value, masked, known)
        return masked

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "replace"))
        if isinstance(value, dict):
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, tuple) and hasattr(value, "_asdict"):
            # An answers section (a NamedTuple): its fields by name, not a bare list.
            return self.value(value._asdict())
        if isinstance(value, (list, tuple, set)):
            return [self.value(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self.text(str(value))
