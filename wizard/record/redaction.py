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


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        # (text, secrets known then, masked): a large text is often masked twice in a row
        # (a secondary copied from its primary is one string for both), each pass a few
        # milliseconds of a campus plan.
        self._last: tuple[str, int, str] | None = None

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
            known, last = len(self._secrets), self._last
            secrets = sorted(self._secrets, key=len, reverse=True)
        if last is not None and last[0] is value and last[1] == known:  # none added since
            return last[2]
        masked = _mask_statements(value)
        for secret in secrets:
            if secret in masked:
                masked = masked.replace(secret, MASK)
        if len(value) > 65536:
            with self._lock:
                self._last = (value, known, masked)
        return masked

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "replace"))
        if isinstance(value, dict):
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set)):
            return [self.value(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self.text(str(value))
