"""The two-peer transaction against the real lab: success, and every fault rolled back."""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import subprocess

import pytest

from tests.helpers.apply import fresh, plan, transaction
from wizard.lab.client import lease
from wizard.lab import lifecycle
from wizard.lab import namespaces as ns
from wizard.ops.omapi import read_states
from wizard.record.session import Session, read_events

pytestmark = pytest.mark.lab


def host_conf(spec, role):
    return (spec.host_dir(role) / "etc-dhcp" / "dhcpd.conf").read_text()


def recorded_outcome(session: Session) -> dict:
    """The session's account of how the apply ended (aborted or rolled back), closed."""
    session.close("failed")
    events = read_events(session.path)
    ends = [e for e in events if e["step"] == "apply" and e["kind"] in ("aborted", "rolled-back")]
    assert ends, "the session does not say how the apply ended"
    return ends[-1]["data"]


def assert_serving_on(spec, texts: dict[str, str]):
    """Each host runs dhcpd on exactly the given config, and dhcpd -t accepts it."""
    st = lifecycle.status(spec)
    for role, text in texts.items():
        assert host_conf(spec, role) == text, f"{role} is not on the expected config"
        assert st["hosts"][role]["daemons"]["dhcpd"]["running"], f"{role}: dhcpd not running"
        proc = subprocess.run(["dhcpd", "-t", "-cf", str(spec.host_dir(role) / "etc-dhcp" /
                                                         "dhcpd.conf")], capture_output=True)
        assert proc.returncode == 0


def guard_dirs(spec, role):
    return [p for p in (spec.host_dir(role) / "run" / "dhcp-wizard").glob("2*")]


def assert_guard_done(spec, role):
    """The host's lock is free and no guard of ours still runs there."""
    base = spec.host_dir(role) / "run" / "dhcp-wizard"
    assert not (base / "lock").is_symlink(), f"{role}: the lock is still held"
    for d in guard_dirs(spec, role):
        assert (d / "result").exists(), f"{role}: guard {d.name} has not finished"
        assert not (d / "guard.pid").exists(), f"{role}: guard {d.name} still runs"


def other_half(spec) -> str:
    net = spec.network
    sup = net.supernet(new_prefix=24) if net.prefixlen > 24 else net.supernet()
    return str(next(s for s in sup.subnets(new_prefix=net.prefixlen) if s != net))


def test_apply_makes_a_failover_pair_then_is_a_no_op(lab, lab_spec, tmp_path):
    answers = fresh(lab_spec)
    the_plan = plan(lab_spec, answers)
    session = Session.create(tmp_path / "s", command="test")
    session.redactor.add(the_plan.secret)
    tx, pair, events = transaction(lab_spec, answers, the_plan, session=session)
    result = tx.run()
    pair.close()
    assert result.ok, result.reason
    assert_serving_on(lab_spec, {r: the_plan.main(r).after for r in ("primary", "secondary")})
    steps = [(r, s) for _t, r, s, _m in events]
    for role in ("primary", "secondary"):
        for step in ("validated", "backed-up", "armed", "switched", "restarted"):
            assert (role, step) in steps
    # Both restarted close together: the second restart finished within 2 s of the first.
    done = [t for t, _r, s, _m in events if s == "restarted"]
    assert max(done) - min(done) < 2
    states = read_states({r: (lab_spec.address(r), 7911) for r in ("primary", "secondary")},
                         "omapi_key", the_plan.secret, answers.failover.name)
    assert {r: s.state.local_state for r, s in states.items()} == {
        "primary": "normal", "secondary": "normal"}
    # The key file is not world-readable, and backups of config and leases exist.
    mode = os.stat(lab_spec.host_dir("primary") / "etc-dhcp" / "dhcpd.conf").st_mode
    assert mode & 0o007 == 0
    baks = sorted(p.name for p in (lab_spec.host_dir("primary") / "etc-dhcp").iterdir()
                  if p.name.endswith(".bak"))
    assert len(baks) == 1 and baks[0].startswith("dhcpd.conf.dhcp-wizard-")
    session.close()
    text = (tmp_path / "s" / "events.jsonl").read_text()
    assert the_plan.secret not in text and "committed" in text

    again = plan(lab_spec, answers)
    assert not again.changed
    tx2, pair2, _ = transaction(lab_spec, answers, again)
    result2 = tx2.run()
    pair2.close()
    assert result2.ok and "nothing to change" in result2.reason


def test_a_running_pair_changed_waits_for_the_new_processes_normal(lab, lab_spec, tmp_path):
    """A redeploy of a pair already in normal: the old processes' `normal`, read before the
    restarts take effect, must not end the wait. The wait ends on the new processes', after
    each has been seen leaving normal (startup, or its partner gone for a moment)."""
    answers = fresh(lab_spec)
    first = plan(lab_spec, answers)
    tx, pair, _ = transaction(lab_spec, answers, first)
    assert tx.run().ok
    pair.close()
    changed = answers.with_changes(
        "failover", load_balance_max_seconds=answers.failover.load_balance_max_seconds + 2)
    again = plan(lab_spec, changed)
    assert again.changed
    tx2, pair2, events = transaction(lab_spec, changed, again)
    result = tx2.run()
    pair2.close()
    assert result.ok, result.reason
    left = {tr.role for tr in result.timeline if tr.before == "normal" and tr.after != "normal"}
    assert left == {"primary", "secondary"}, [(t.role, t.before, t.after) for t in result.timeline]
    restarted = [t for t, _r, s, _m in events if s == "restarted"]
    assert len(restarted) == 2 and result.waited > 0.3, result.waited


def test_config_rejected_by_one_peer_switches_nothing(lab, lab_spec, tmp_path):
    answers = fresh(lab_spec)
    the_plan = plan(lab_spec, answers)
    before = {r: host_conf(lab_spec, r) for r in ("primary", "secondary")}
    bad = the_plan.main("secondary").after + "\nthis-is-not-a-statement 42;\n"
    session = Session.create(tmp_path / "s", command="test")
    tx, pair, events = transaction(lab_spec, answers, the_plan, after={"secondary": bad},
                                   session=session)
    result = tx.run()
    pair.close()
    assert "rejects the new config" in recorded_outcome(session)["reason"]
    assert not result.ok and result.phase == "prepare"
    assert "secondary: its dhcpd rejects the new config" in result.reason
    assert re.search(r"/etc/dhcp/dhcpd\.conf:\d+:\d+: ", result.reason)  # located, with caret
    assert "nothing was switched" in result.reason
    assert_serving_on(lab_spec, before)
    leftovers = [p.name for r in ("primary", "secondary")
                 for p in (lab_spec.host_dir(r) / "etc-dhcp").iterdir() if p.name.endswith(".new")]
    assert leftovers == []
    assert not any(s == "switched" for _t, _r, s, _m in events)


def test_dhcpd_failing_to_start_on_one_peer_rolls_both_back(lab, lab_spec, tmp_path):
    answers = fresh(lab_spec)
    the_plan = plan(lab_spec, answers)
    before = {r: host_conf(lab_spec, r) for r in ("primary", "secondary")}
    # Valid for `dhcpd -t`, fatal at start: no subnet declaration covers the host's eth0.
    here, there = lab_spec.network, ipaddress.IPv4Network(other_half(lab_spec))

    def move(m: re.Match) -> str:
        addr = ipaddress.IPv4Address(m.group(0))
        if addr in here:
            return str(there.network_address + (int(addr) - int(here.network_address)))
        if addr == here.netmask:
            return str(there.netmask)
        return m.group(0)

    moved = []
    for line in the_plan.main("secondary").after.splitlines(keepends=True):
        if line.lstrip().startswith(("subnet ", "range", "option routers")):
            line = re.sub(r"\b\d+\.\d+\.\d+\.\d+\b", move, line)
        moved.append(line)
    session = Session.create(tmp_path / "s", command="test")
    tx, pair, _ = transaction(lab_spec, answers, the_plan, after={"secondary": "".join(moved)},
                              session=session)
    result = tx.run()
    pair.close()
    assert "not running after the restart" in recorded_outcome(session)["reason"]
    assert not result.ok and result.phase == "restart" and result.rolled_back, result.reason
    assert "secondary: dhcpd is not running after the restart" in result.reason
    assert_serving_on(lab_spec, before)
    got = lease(lab_spec, new_client=True, timeout=15)
    assert got.server in (lab_spec.address("primary"), lab_spec.address("secondary"))


def test_failover_port_dropped_never_normal_rolls_back_and_clients_are_served(lab, lab_spec, tmp_path):
    answers = fresh(lab_spec)
    the_plan = plan(lab_spec, answers)
    before = {r: host_conf(lab_spec, r) for r in ("primary", "secondary")}
    in_sec = lambda *argv: ns.run(ns.host_command(lab_spec, "secondary", list(argv)))  # noqa: E731
    in_sec("nft", "add", "table", "inet", "dhwfault")
    try:
        in_sec("nft", "add chain inet dhwfault input { type filter hook input priority 0; }")
        # Both peers open connections in 4.4, so drop the ports either way.
        in_sec("nft", "add rule inet dhwfault input tcp dport { 519, 520 } drop")
        in_sec("nft", "add rule inet dhwfault input tcp sport { 519, 520 } drop")
        session = Session.create(tmp_path / "s", command="test")
        tx, pair, _ = transaction(lab_spec, answers, the_plan, normal_timeout=20,
                                  session=session)
        result = tx.run()
        pair.close()
        assert "did not reach normal" in recorded_outcome(session)["reason"]
    finally:
        in_sec("nft", "delete", "table", "inet", "dhwfault")
    assert not result.ok and result.phase == "normal" and result.rolled_back
    assert "did not reach normal within" in result.reason
    assert_serving_on(lab_spec, before)
    got = lease(lab_spec, new_client=True, timeout=15)
    assert got.address


def test_wrong_omapi_key_cannot_confirm_normal_so_it_rolls_back(lab, lab_spec, tmp_path):
    answers = fresh(lab_spec)
    the_plan = plan(lab_spec, answers)
    before = {r: host_conf(lab_spec, r) for r in ("primary", "secondary")}
    wrong = "d3JvbmctZC13cm9uZy1kLXdyb25nLWQtd3JvbmctZC13cm9uZw=="
    session = Session.create(tmp_path / "s", command="test")
    tx, pair, _ = transaction(lab_spec, answers, the_plan, secret=wrong, normal_timeout=10,
                              session=session)
    result = tx.run()
    pair.close()
    assert "refused our key" in recorded_outcome(session)["reason"]
    assert not result.ok and result.rolled_back
    assert "refused our key" in result.reason
    assert_serving_on(lab_spec, before)


def test_ssh_connection_killed_mid_apply_still_ends_on_the_old_config(lab, lab_spec, tmp_path):
    answers = fresh(lab_spec)
    the_plan = plan(lab_spec, answers)
    before = {r: host_conf(lab_spec, r) for r in ("primary", "secondary")}
    sshd_pid = lifecycle.status(lab_spec)["hosts"]["primary"]["daemons"]["sshd"]["pid"]

    def cut(role, step, _msg):
        if role == "primary" and step == "switched":
            # Kill the session processes of the primary's sshd (its children), as a dropped
            # link would, while leaving the listener up for a reconnect.
            for pid in ns.netns_pids(lab_spec.netns("primary")):
                try:
                    ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == sshd_pid:
                    os.kill(pid, signal.SIGKILL)

    session = Session.create(tmp_path / "s", command="test")
    tx, pair, events = transaction(lab_spec, answers, the_plan, progress=cut, session=session)
    result = tx.run()
    pair.close()
    assert "connection was lost" in recorded_outcome(session)["reason"]
    assert not result.ok and result.rolled_back, result.reason
    assert "connection was lost" in result.reason
    assert any(s == "reconnect" for _t, _r, s, _m in events)
    assert_serving_on(lab_spec, before)
    # The guards carried the rollback out and ended: no lock is left, nothing runs on.
    for role in ("primary", "secondary"):
        assert_guard_done(lab_spec, role)
