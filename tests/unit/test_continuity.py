"""The service-continuity probe: gap arithmetic, then against the real lab dhcpd servers.

The pure part: recorded outputs and inputs, no lab."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from wizard.errors import InputError
from wizard.lab.continuity import Continuity, Report, Request
from wizard.lab.discover_loop import identities


NAMES = {"10.0.0.11": "primary", "10.0.0.12": "secondary"}


def _report(pattern: str, every: float = 1.0) -> Report:
    """'+' an answered request (by the primary), '.' an unanswered one, one per `every` s."""
    reqs = tuple(Request(i, 1000.0 + i * every, c == "+", ("10.0.0.11",) if c == "+" else (),
                         0.001 if c == "+" else None, "10.0.0.100" if c == "+" else None)
                 for i, c in enumerate(pattern))
    return Report(reqs, every, 3.0, NAMES)


def test_no_gap_when_every_request_is_answered():
    r = _report("++++++")
    assert (r.unanswered, r.longest_gap, r.gaps) == (0, 0.0, [])
    assert r.served_by == {"primary": 6}
    assert "0 unanswered" in r.line() and "gap" not in r.line()


def test_gap_runs_from_first_miss_to_next_answer():
    r = _report("++...++.++", every=0.5)
    assert r.unanswered == 4
    assert [(g.start, g.seconds, g.requests) for g in r.gaps] == [(1001.0, 1.5, 3),
                                                                  (1003.5, 0.5, 1)]
    assert r.longest_gap == 1.5
    assert "4 unanswered, longest gap 1.5 s" in r.line()


def test_gap_still_open_at_the_end_counts_to_the_next_request_slot():
    r = _report("++..")
    assert r.longest_gap == 2.0 and r.gaps[0].requests == 2


def test_nothing_answered_names_nobody():
    r = _report("...")
    assert r.served_by == {} and "served by nobody" in r.line() and r.longest_gap == 3.0


def test_identities_are_stable_per_seed_and_locally_administered():
    a, b = identities("lab/x"), identities("lab/y")
    assert a == identities("lab/x") and a != b and len(set(a)) == len(a) == 8
    assert all(len(m) == 6 and m[0] == 0x02 for m in a)


@pytest.mark.parametrize("kwargs, words", [
    ({"every": 0.1}, "interval of 0.1 s"),
    ({"every": 1.0, "window": 9.0}, "too long for requests every 1 s"),
    ({"every": 1.0, "max_seconds": 10_000}, "probe of 10000 s is out of range"),
])
def test_bad_timing_is_refused_with_a_reason(lab_spec_pure, kwargs, words):
    with pytest.raises(InputError, match=words):
        Continuity(lab_spec_pure, **kwargs)


@pytest.fixture
def lab_spec_pure():
    from wizard.lab.spec import LabSpec

    return LabSpec(name="nolab", subnet="198.51.100.0/24")


def test_cli_refuses_bad_durations_without_a_traceback():
    for argv in (["--for", "0"], ["--for", "9999"], ["--every", "x"]):
        proc = run_cli("lab", "probe", "--name", "nolab", *argv)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "seconds" in proc.stderr
