"""wizard.forked: the value comes back from the child, or is computed here when it cannot."""

from __future__ import annotations

import os

import pytest

from wizard import forked


def test_the_child_computes_and_the_value_crosses_intact():
    parent = os.getpid()
    text = "subnet\udcff\n" * 200_000    # an undecodable byte, kept as read (surrogateescape)
    got = forked.start(lambda: [text, os.getpid() != parent]).result()
    assert got == [text, True]          # True: it was computed in another process


def test_a_child_that_fails_leaves_the_work_to_this_process():
    calls = []

    def work():
        calls.append(os.getpid())
        if len(calls) == 1 and os.getpid() != parent:
            raise RuntimeError("child only")   # never seen here: the child's calls are its own
        return "done here"

    parent = os.getpid()
    pending = forked.start(work)
    assert pending.result() == "done here"
    assert calls == [parent]     # this process's list: only the in-line run is in it


def test_an_error_in_the_work_itself_is_raised_here():
    with pytest.raises(ZeroDivisionError):
        forked.start(lambda: 1 / 0).result()


def test_not_worth_a_fork_runs_in_line_and_cancel_reaps_a_child():
    parent = os.getpid()
    assert forked.start(lambda: os.getpid(), worth_it=False).result() == parent
    pending = forked.start(lambda: __import__("time").sleep(30))
    child = pending._pid
    assert child
    pending.cancel()
    with pytest.raises(ChildProcessError):   # killed and reaped: no zombie left behind
        os.waitpid(child, os.WNOHANG)


def test_a_large_value_does_not_keep_the_child_waiting_for_this_process():
    # The parent reads only once its own share is done: the child must be able to finish
    # (and hand over megabytes) before that, or the two shares would run one after the other.
    import time

    pending = forked.start(lambda: "x" * (8 << 20))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pending._pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        pending.cancel()
        pytest.fail("the child was still running, its value unread")
    # Reaped here already: what it left is still there to read.
    assert pending.result() == "x" * (8 << 20)


def test_the_fallback_computes_what_the_child_could_not():
    parent = os.getpid()

    def work():
        if os.getpid() != parent:
            os._exit(3)
        return "work in line"

    assert forked.start(work, fallback=lambda: "the fallback").result() == "the fallback"
    assert forked.start(work, worth_it=False, fallback=lambda: "the fallback").result() == \
        "the fallback"
