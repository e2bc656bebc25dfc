"""The wizard killed (-9) at each phase of a deploy and during a drill: nothing it could do
itself, so each host's guard must bring the pair back within the bound."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.helpers.interrupt import (BOUND, clients_probing, PHASES, ROLES, assert_valid_and_serving, confs,
                                     deployed, guard_results, read_until, start_deploy,
                                     start_drill, wait_serving)
from tests.helpers.apply import fresh
from wizard.record.session import read_events

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("baseline_after")]


@pytest.mark.parametrize("phase", ["prepare", "restart", "wait", "settle"])
def test_killed_wizard_leaves_both_serving_the_old_config_within_the_bound(lab, lab_spec,
                                                                          tmp_path, phase):
    fresh(lab_spec)
    before = confs(lab_spec)
    session = tmp_path / "s"
    with clients_probing(lab_spec, f"kill -9 at {phase}"):
        proc = start_deploy(lab_spec, session)
        read_until(proc, PHASES[phase])
        if phase == "restart":
            time.sleep(0.3)   # mid-restart: the init scripts are between stop and start
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        took = wait_serving(lab_spec, before, BOUND)
    print(f"\nkill -9 at {phase}: both on the old config and serving after {took:.1f} s")
    assert_valid_and_serving(lab_spec)
    results = guard_results(lab_spec)
    for role in ROLES:
        assert results[role], f"{role}: its guard left no account"
        expected = "aborted" if phase == "prepare" else "rolled-back running"
        assert results[role][-1] == expected, results
    # The next run ends the killed run's record with what the guards did.
    from tests.helpers.apply import CONF, LEASES
    from wizard.answers import load_answers
    from wizard.ops.leftovers import close_orphaned_sessions, scan
    from wizard.remote.ssh import Pair

    with Pair(load_answers(lab_spec.answers_path)).open() as pair:
        found = {r: scan(pair.conn(r), r, CONF, LEASES) for r in ROLES}
    assert close_orphaned_sessions(found) == [str(session)]
    end = read_events(session)[-1]
    assert end["kind"] == "end" and end["data"]["status"] == "killed"
    assert set(end["data"]["guards"]) == set(ROLES)


@pytest.mark.parametrize("moment", [r"shutdown-primary ok", r"service\s+ok"])
def test_killed_drill_leaves_the_peer_to_put_itself_back(lab, lab_spec, tmp_path, moment):
    """kill -9 while the primary is shut down, before or after the proof of service: the
    drill guard hears no heartbeat and sets the primary back to recover; the pair is normal
    again without anyone's help. (A kill during an upgrade's restart: tests/lab/test_upgrade.)"""
    from tests.helpers.apply import reader
    from wizard.answers import load_answers
    from wizard.ops.statewatch import both, wait_for

    deployed(lab_spec, tmp_path)
    answers = load_answers(lab_spec.answers_path)
    secret = open(answers.omapi.secret_file).read().strip()
    # Right after its proof of service the drill sets the primary back to recover itself, in
    # milliseconds: the drill here holds that back for a few seconds, so that the kill lands
    # between the two. Should it still come late (its guard then says `committed`, or
    # `already-back` when it found the primary no longer shut down: the case this test is not
    # about), it is tried again, once that guard has ended: it holds the host's lock until
    # it has missed its heartbeats, and the next drill needs it.
    lock = lab_spec.host_dir("primary") / "run" / "dhcp-wizard" / "lock"
    for attempt in range(3):
        proc = start_drill(lab_spec, tmp_path / f"drill{attempt}",
                           hold_return=3 if "service" in moment else 0)
        read_until(proc, moment)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        killed = time.monotonic()
        res = wait_for(reader(lab_spec, answers, secret), both("normal"),
                       timeout=BOUND + answers.failover.mclt + 30)
        assert res.ok, res.states()
        print(f"\nkill -9 mid-drill ({moment}): both normal again "
              f"{time.monotonic() - killed:.1f} s later")
        deadline = time.monotonic() + 60
        while lock.is_symlink() and time.monotonic() < deadline:
            time.sleep(0.5)
        outcome = guard_results(lab_spec)["primary"][-1]
        if outcome not in ("committed", "already-back"):
            break
    assert outcome == "recovered", outcome
    assert not lock.is_symlink()
