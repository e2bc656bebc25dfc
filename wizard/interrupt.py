"""Interruptions: one cancel token per operation, and the signals that set it.

A signal handler runs on the main thread between two bytecodes, possibly while that thread
holds the session's lock, so it records nothing itself: it sets the token with the signal's
name, and the operation that notices it (at its next step) records the interruption and
rolls back. Later signals only say that the rollback goes on.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

SIGNALS = {signal.SIGINT: "SIGINT (Ctrl+C)", signal.SIGTERM: "SIGTERM",
           signal.SIGHUP: "SIGHUP (the terminal was lost)"}


class CancelToken(threading.Event):
    """An Event that also says why, and who asked: the operator or a signal."""

    def __init__(self) -> None:
        super().__init__()
        self.reason = ""
        self.phase = ""
        self.signum: int | None = None

    def cancel(self, reason: str = "cancelled by the operator", phase: str = "cancelled",
               signum: int | None = None) -> bool:
        """Set once; True when this call set it."""
        if self.is_set():
            return False
        self.reason, self.phase, self.signum = reason, phase, signum
        self.set()
        return True

    @property
    def exit_code(self) -> int | None:
        """The shell's code for death by this signal (130 for SIGINT), once interrupted."""
        return 128 + self.signum if self.signum else None


@contextmanager
def signals_cancel(token: CancelToken):
    """While inside, SIGINT, SIGTERM and SIGHUP cancel `token` instead of killing us."""
    def write(text: str) -> None:
        # Straight to the file descriptor: the interrupted code may hold the lock of any
        # Python-level stream or printer, and taking it here would deadlock.
        try:
            os.write(sys.__stderr__.fileno(), (text + "\n").encode("utf-8", "replace"))
        except (OSError, ValueError, AttributeError):
            pass  # the terminal may be gone (SIGHUP): the session still records the outcome

    def handler(signum, _frame) -> None:
        name = SIGNALS.get(signum, f"signal {signum}")
        if token.cancel(f"interrupted by {name}", "interrupted", signum):
            write(f"\n{name}: stopping; whatever was changed is being rolled back "
                  "(the servers finish it on their own if this process dies)")
        else:
            write(f"\n{name}: still putting things back; please wait")

    if threading.current_thread() is not threading.main_thread():
        yield token
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, handler)
    try:
        yield token
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
