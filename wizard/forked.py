"""A pure computation in a forked child while this process goes on with its own work.

`plan` is timed against one `dhcpd -t` and the machine has more than one core: a campus
config's secondary is edited, rendered and diffed in a child while the parent does the
primary (tens of milliseconds each). Only values that marshal can carry come back (strings,
lists, dicts, numbers); the child touches no file and no session, and exits without running
any cleanup of ours. If the child fails in any way, or fork is not there, the work is done
here, in line.

The value comes back through an anonymous in-memory file rather than a pipe: megabytes of
text would fill a pipe's buffer, and the child would then wait for the parent to finish its
own share before it could finish its own. A byte on a pipe says the value is all there, so
the parent does not wait for the child's exit (unmapping a campus-sized heap takes a while).
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Callable


def available() -> bool:
    """Whether work can be handed to a child here (fork, and an in-memory file to bring the
    value back)."""
    return hasattr(os, "fork") and hasattr(os, "memfd_create")


class Pending:
    def __init__(self, work: Callable[[], object], fork: bool,
                 fallback: Callable[[], object] | None = None):
        self._work = work
        # What computes the value here when the child did not: work itself, unless the child
        # worked on state this process has changed since the fork.
        self._fallback = fallback or work
        self._pid = 0
        self._data = self._done = -1
        if fork and available():
            self._start()

    def _start(self) -> None:
        try:
            data = os.memfd_create("dhcp-wizard-forked", os.MFD_CLOEXEC)
        except OSError:
            return
        done, signal = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (data, done, signal):
                os.close(fd)
            return
        if pid == 0:  # the child: compute, hand it over, leave at once
            code = 1
            try:
                os.close(done)
                view = memoryview(marshal.dumps(self._work()))
                while view:
                    view = view[os.write(data, view):]
                os.write(signal, b".")
                code = 0
            finally:
                os._exit(code)
        os.close(signal)
        self._pid, self._data, self._done = pid, data, done
        if self._fallback is not self._work:
            self._work = None  # whatever the work holds is the child's now, not needed here

    def result(self):
        if not self._pid:
            return self._fallback()
        value = missing = object()
        try:
            # A byte once the value is written; nothing (end of file) when the child ended
            # without one. The child is reaped only after the value is read: meanwhile it
            # exits.
            if os.read(self._done, 1) == b".":
                raw = os.pread(self._data, os.fstat(self._data).st_size, 0)
                try:
                    value = marshal.loads(raw)
                except (EOFError, ValueError, TypeError):
                    pass
        finally:
            self._close()
        return self._fallback() if value is missing else value

    def cancel(self) -> None:
        """Left without its result (an error meanwhile): the child is not waited for."""
        if self._pid:
            import signal

            try:
                os.kill(self._pid, signal.SIGKILL)
            except OSError:
                pass
            self._close()

    def _close(self) -> None:
        os.close(self._data)
        os.close(self._done)
        try:
            os.waitpid(self._pid, 0)  # reaped: a long-lived caller keeps no zombie
        except ChildProcessError:
            pass
        self._pid = 0


def start(work: Callable[[], object], *, worth_it: bool = True,
          fallback: Callable[[], object] | None = None) -> Pending:
    """work() runs in a child now (where worth_it and fork is available); .result() gives
    its value, computed here instead (by fallback, where given) if the child could not
    deliver it."""
    return Pending(work, worth_it, fallback)
