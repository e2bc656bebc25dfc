"""The pure logic of the TUI's rolling upgrade: the survivor's lease count (the real shell
snippet on a real file, run locally), the window's lint of the pair, the operator's pause,
when the check screen offers the upgrade, and the words said when it stops or quits."""

from __future__ import annotations

import os
import subprocess
import threading
import time

from wizard.checks.base import CheckResult
from wizard.flow.upgrade import UpgradeOutcome, offer, preflight
from wizard.ops.survivor_watch import SurvivorWatch, acks_in, cltt_epoch
from wizard.ops.upgrade import OperatorGate, UpgradeWindow
from wizard.remote.ssh import CommandResult


class LocalConn:
    """A connection whose commands run here, in sh: the snippets are the real ones."""

    def run(self, command, **_kw):
        p = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=20)
        return CommandResult(command, p.returncode, p.stdout, p.stderr, 0.0)

    def read_file(self, path, **_kw):
        with open(path) as fh:
            return fh.read()


def block(address: str, when: float, state: str = "active", hw: str = "52:54:00:00:00:01"):
    stamp = time.strftime("%w %Y/%m/%d %H:%M:%S", time.gmtime(when))
    return (f"lease {address} {{\n  starts {stamp};\n  cltt {stamp};\n"
            f"  binding state {state};\n  next binding state free;\n"
            f"  hardware ethernet {hw};\n}}\n")


def test_cltt_in_both_of_dhcpds_time_formats():
    assert cltt_epoch("4 2026/12/03 10:00:00") == 1796292000
    assert cltt_epoch("epoch 1796292000") == 1796292000
    assert cltt_epoch("never") is None and cltt_epoch("4 2026/13/03 10:00:00") is None


def test_only_active_leases_of_transactions_since_the_window_count():
    now = 1796292000
    text = (block("10.0.0.5", now - 60) + block("10.0.0.6", now + 1)
            + block("10.0.0.7", now + 2, state="free") + block("10.0.0.8", now + 3)[:40])
    acks, tail = acks_in(text, since=now)
    assert [a.address for a in acks] == ["10.0.0.6"]
    assert tail.startswith("lease 10.0.0.8 {")       # read again once it is whole


def test_the_watch_counts_each_ack_once_across_appends_and_a_rewrite(tmp_path):
    leases = tmp_path / "dhcpd.leases"
    old = time.time() - 3600
    leases.write_text(block("10.0.0.5", old))
    sample = type("S", (), {"state": type("F", (), {"local_state": "partner-down",
                                                    "partner_state": "shutdown"})()})()
    watch = SurvivorWatch(LocalConn(), "primary", str(leases), lambda: sample)
    watch.begin()
    first = watch.poll()
    assert (first.state, first.acks, first.clients) == ("partner-down", 0, 0)
    now = time.time() + 1
    with open(leases, "a") as fh:
        fh.write(block("10.0.0.6", now, hw="52:54:00:00:00:02"))
        fh.write(block("10.0.0.9", now)[:30])              # dhcpd half-way through a write
    assert watch.poll().acks == 1
    with open(leases, "a") as fh:
        fh.write(block("10.0.0.9", now)[30:])
        fh.write(block("10.0.0.6", now + 1, hw="52:54:00:00:00:02"))   # the same client again
    second = watch.poll()
    assert (second.acks, second.clients) == (3, 2)
    # dhcpd rewrites its file (a new inode, every lease once): nothing is counted twice.
    fresh = tmp_path / "new"
    fresh.write_text(block("10.0.0.5", old) + block("10.0.0.9", now)
                     + block("10.0.0.6", now + 1, hw="52:54:00:00:00:02"))
    os.replace(fresh, leases)
    third = watch.poll()
    assert (third.acks, third.clients) == (3, 2) and third.error is None
    assert "3 lease(s) given to 2 client(s)" in third.line()
    leases.unlink()
    assert watch.poll().acks is None and "not there" in watch.poll().error


def test_the_window_lints_the_pair_and_keeps_a_disagreeing_peer_out(tmp_path):
    from tests.helpers.conf import planned_pair
    from tests.unit.test_conf_plan import BASE

    _answers, plan = planned_pair(tmp_path, BASE)
    paths = {}
    for role in ("primary", "secondary"):
        paths[role] = str(tmp_path / f"{role}.conf")
        with open(paths[role], "w") as fh:
            fh.write(plan.main(role).after)
    window = UpgradeWindow(lambda r: LocalConn(), {}, paths, command="true")
    assert window.lint("secondary") == (True, "lint: the two configs agree as a pair")
    # A package's post-install put another port in the secondary's peer block.
    text = plan.main("secondary").after.replace("peer port 647;", "peer port 648;")
    with open(paths["secondary"], "w") as fh:
        fh.write(text)
    ok, said = window.lint("secondary")
    assert not ok and "no longer agree as a failover pair" in said and "port-mirror" in said
    assert any(f["id"] == "port-mirror" for f in window.records["secondary"].lint)


def test_the_pause_ends_with_the_operators_answer_or_a_cancel_as_done():
    for answer in (True, False):
        gate = OperatorGate()
        threading.Timer(0.1, gate.done, (answer,)).start()
        assert gate("secondary") is answer and gate.waiting_for is None
    cancel = threading.Event()
    gate = OperatorGate(cancel)
    threading.Timer(0.1, cancel.set).start()
    assert gate("primary") is True       # brought back, after its checks, as a drill's cancel


def results(*extra):
    base = [CheckResult("ssh", "primary", "pass", "ok"), CheckResult("ssh", "secondary",
                                                                      "pass", "ok")]
    return base + list(extra)


def test_the_check_screen_offers_the_upgrade_as_the_headless_pre_flight_judges():
    normal = [CheckResult("failover-state", r, "pass", f"{r}: normal")
              for r in ("primary", "secondary")]
    assert offer(results(*normal))[0]
    ntp = CheckResult("ntp", "primary", "warn", "no upstream")
    is_open, reasons, gate = offer(results(ntp, *normal))
    assert not is_open and not reasons and gate.keys == ("ntp",)
    assert offer(results(ntp, *normal), {"ntp"})[0]
    down = CheckResult("failover-state", "secondary", "fail", "secondary: shutdown")
    is_open, reasons, _ = offer(results(normal[0], down))
    assert not is_open and any("secondary: shutdown" in r for r in reasons)
    assert not offer(results())[0]                      # no failover at all
    # Resuming, the left-out peer's state and the version gap are what is being finished.
    parity = CheckResult("version-parity", None, "warn", "4.4.3-P1 and 4.4.3-R1")
    kept, expected, gate = preflight(results(parity, down), resume="secondary")
    assert expected == [parity, down] and not gate.reasons


def test_the_words_say_what_state_the_pair_is_left_in():
    from screens.upgrade_text import out_of_service, pair_left, quit_question, quit_words

    assert out_of_service("window", "secondary is out of service: upgrade it now") == \
        "secondary"
    assert out_of_service("window", "primary: running `apt-get` (detached") == "primary"
    assert out_of_service("window-primary", "ok: ...") is None
    left = UpgradeOutcome(False, "secondary: stopped", ("secondary", "primary"),
                          left_out="secondary",
                          advice=["... --resume secondary"])
    assert "primary serves every client alone (partner-down)" in pair_left(left)
    words = quit_words(left, "pair.toml")
    assert "--resume secondary" in words and "secondary is left out of service" in words
    assert "both peers are in operation" in pair_left(UpgradeOutcome(True, "", ("p",)))
    asked = quit_question("secondary", waiting=True)
    assert "primary serves every client alone" in asked
    assert "Leave out, quit: secondary stays out of service" in asked
    assert "the guard on secondary puts it back" in asked and "Quit now" not in asked
    assert "Leave out" not in quit_question("primary", waiting=False)
    assert "no peer is out of service" in quit_question(None, waiting=False)
