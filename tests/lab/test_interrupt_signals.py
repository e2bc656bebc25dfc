"""Ctrl+C, SIGTERM and a lost terminal during a deploy and a drill: the wizard puts both
servers back itself, exits 128+signal, and the session says so."""

from __future__ import annotations

import signal
import time

import pytest

from tests.helpers.interrupt import (PHASES, assert_valid_and_serving, clients_probing, confs,
                                     deployed, read_until, start_deploy, start_drill,
                                     wait_serving)
from tests.helpers.apply import fresh
from wizard.record.session import read_events

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("baseline_after")]


@pytest.mark.parametrize("sig,phase", [(signal.SIGINT, "prepare"), (signal.SIGINT, "restart"),
                                       (signal.SIGINT, "wait"), (signal.SIGTERM, "switch"),
                                       (signal.SIGHUP, "settle")])
def test_signal_rolls_back_at_once_and_the_session_says_so(lab, lab_spec, tmp_path, sig, phase):
    fresh(lab_spec)
    before = confs(lab_spec)
    session = tmp_path / "s"
    with clients_probing(lab_spec, f"{signal.Signals(sig).name} at {phase}"):
        proc = start_deploy(lab_spec, session)
        read_until(proc, PHASES[phase])
        t0 = time.monotonic()
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=120)
        took = time.monotonic() - t0
    assert proc.returncode == 128 + sig, out[-3000:]
    # The wizard itself rolled back before exiting: nothing is left for the guards to do.
    assert confs(lab_spec) == before
    wait_serving(lab_spec, before, 5)
    print(f"\n{signal.Signals(sig).name} at {phase}: rolled back, exit {proc.returncode}, "
          f"{took:.1f} s")
    assert_valid_and_serving(lab_spec)
    events = read_events(session)
    assert any(e["kind"] == "interrupted" for e in events)
    end = events[-1]
    assert end["kind"] == "end" and end["data"]["status"] == "interrupted"
    assert end["data"]["exit_code"] == 128 + sig
    outcome = [e for e in events if e["step"] == "apply" and e["kind"] in ("aborted",
                                                                           "rolled-back")]
    assert outcome and "interrupted by" in outcome[-1]["data"]["reason"]


def test_interrupted_drill_puts_the_peer_back_into_operation(lab, lab_spec, tmp_path):
    deployed(lab_spec, tmp_path)
    session = tmp_path / "drill"
    proc = start_drill(lab_spec, session)
    read_until(proc, r"shutdown-primary ok")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 130, out[-3000:]
    assert "drill cancelled" in out and "back in operation, both normal" in out
    from tests.helpers.apply import reader
    from wizard.answers import load_answers

    answers = load_answers(lab_spec.answers_path)
    secret = open(answers.omapi.secret_file).read().strip()
    states = reader(lab_spec, answers, secret)()
    assert {r: s.state.local_state for r, s in states.items()} == {
        "primary": "normal", "secondary": "normal"}
    events = read_events(session)
    assert events[-1]["data"]["status"] == "interrupted"
