"""A pure computation in a forked child while this process goes on with its own work.

`plan` is timed against one `dhcpd -t` and the machine has more than one core: the diffs of
a campus config (tens of milliseconds) are made in a child while the parent writes the
session's record. Only values that marshal can carry come back (strings, lists, numbers);
the child touches no file and no session, and exits without running any cleanup of ours.
If the child fails in any way, or fork is not there, the work is done here, in line.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Callable


class Pending:
    def __init__(self, work: Callable[[], object], fork: bool):
        self._work = work
        self._pid = 0
        self._fd = -1
        if fork and hasattr(os, "fork"):
            self._start()

    def _start(self) -> None:
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: compute, hand it over, leave at once
            code = 1
            try:
                os.close(r)
                data = marshal.dumps(self._work())
                view = memoryview(data)
                while view:
                    view = view[os.write(w, view):]
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self._pid, self._fd = pid, r

    def result(self):
        if not self._pid:
            return self._work()
        chunks = []
        try:
            while chunk := os.read(self._fd, 1 << 20):
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            _, status = os.waitpid(self._pid, 0)
            self._pid = 0
        if status != 0:
            return self._work()
        try:
            return marshal.loads(b"".join(chunks))
        except (EOFError, ValueError, TypeError):
            return self._work()

    def cancel(self) -> None:
        """Left without its result (an error meanwhile): the child is not waited for."""
        if self._pid:
            import signal

            try:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
            except OSError:
                pass
            os.close(self._fd)
            self._pid = 0


def start(work: Callable[[], object], *, worth_it: bool = True) -> Pending:
    """work() runs in a child now (where worth_it and fork is available); .result() gives
    its value, computed here instead if the child could not deliver it."""
    return Pending(work, worth_it)
