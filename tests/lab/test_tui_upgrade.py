"""The rolling upgrade in the TUI on the real lab, with an hour of MCLT: the test is the
operator. From "Check an existing pair" it opens the upgrade, and in each pause it upgrades
the peer itself (`lab-upgrade-dhcpd` on that host), gets a lease from the survivor and
watches the screen count it, then presses Continue (a client asking every second meanwhile
is never refused); or it presses Stop, resumes, and quits in the next pause."""

from __future__ import annotations

import asyncio

import pytest

from screens.app import WizardApp
from tests.helpers.lab import sh, ssh
from tests.helpers.tui import answer, click, plain, until
from tests.lab.test_tui_lab import SIZE, name
from tests.helpers.upgrade import (assert_answered_but_at_restarts, production_pair, states,
                                   version)
from wizard.answers import load_answers
from wizard.record.session import read_events

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def production(lab, lab_spec, tmp_path_factory):
    yield from production_pair(lab_spec, tmp_path_factory)


def on_host(spec, role: str, command: str) -> str:
    client = ssh(spec, role)
    try:
        rc, out, err = sh(client, command, timeout=30)
        assert rc == 0, out + err
        return out
    finally:
        client.close()


async def press(pilot, app, button: str) -> None:
    """A button of the (scrolled) body, pressed as Enter on it would."""
    widget = app.screen.query_one(button)
    assert widget.display and not widget.disabled, button
    widget.press()
    await pilot.pause()


def text(app, widget: str) -> str:
    return plain(app.screen.query_one(widget))


async def to_upgrade(pilot, app):
    """The check passes (its one warning, the lab's NTP without upstream, accepted as
    `upgrade --accept ntp` would), then "Rolling upgrade…", then Start and its Yes."""
    assert await until(pilot, lambda: bool(app.screen.results), 60), text(app, "#summary")
    await pilot.pause()
    box = app.screen.query_one("#upgrade-accept")
    if box.display:
        assert "ntp" in text(app, "#upgrade-why")
        box.value = True
        await pilot.pause()
    assert not app.screen.query_one("#upgrade").disabled, text(app, "#upgrade-why")
    await press(pilot, app, "#upgrade")
    assert await until(pilot, lambda: name(app) == "UpgradeScreen"), name(app)
    assert "secondary then primary" in text(app, "#order")
    assert "secondary first" in text(app, "#order")
    await pilot.press("ctrl+r")
    assert await until(pilot, lambda: bool(app.screen.query("#yes")), 10)
    await answer(pilot, app, "yes")
    assert await until(pilot, lambda: name(app) == "UpgradeScreen")


async def window(pilot, app, role: str, timeout: float = 60):
    assert await until(pilot, lambda: app.screen.gate.waiting_for == role, timeout), \
        text(app, "#steps")[-2000:]
    assert f"Upgrade {role} (" in text(app, "#window-text")


async def served_in_window(pilot, app, spec, survivor: str) -> None:
    """A client gets a lease while the peer is out; the screen's live count shows it."""
    from wizard.lab.client import lease

    got = await asyncio.to_thread(lease, spec, timeout=15, new_client=True, release=False)
    assert got.server == spec.address(survivor), got
    assert await until(pilot, lambda: f"{survivor}: partner-down" in text(app, "#survivor")
                       and "0 lease(s)" not in text(app, "#survivor"), 15), \
        text(app, "#survivor")
    assert got.address in text(app, "#survivor")


def test_the_operator_upgrades_both_peers_from_the_check_screen(production, lab_spec,
                                                                tmp_path):
    from wizard.lab.continuity import Continuity

    app = WizardApp(load_answers(production), session_dir=str(tmp_path / "session"),
                    start="check")

    async def walk():
        async with app.run_test(size=SIZE) as pilot:
            await to_upgrade(pilot, app)
            for role, survivor in (("secondary", "primary"), ("primary", "secondary")):
                await window(pilot, app, role)
                await served_in_window(pilot, app, lab_spec, survivor)
                said = await asyncio.to_thread(on_host, lab_spec, role, "lab-upgrade-dhcpd")
                assert "-> 4.4.3-R1" in said
                await press(pilot, app, "#continue")
            assert await until(pilot, lambda: app.screen.outcome is not None, 120), \
                text(app, "#steps")[-3000:]
            outcome = text(app, "#outcome")
            assert app.screen.outcome.ok, outcome + text(app, "#steps")[-3000:]
            for role in ("primary", "secondary"):
                assert f"{role}" in outcome and "4.4.3-P1 -> 4.4.3-R1" in outcome
            assert "both peers are in operation (normal)" in outcome
            post = text(app, "#postflight")
            assert "post-flight check clean" in post and "both run dhcpd 4.4.3-R1" in post, post
            steps = text(app, "#steps")
            assert "lint: the two configs agree as a pair" in steps
            assert "pool rebalance done" in steps
            assert "-> recover-wait" not in steps
    # A client starting up at any second of it would have been served, save one DISCOVER
    # still in its ping-check at the instant a restart stops the old process.
    with Continuity(lab_spec, every=1.0) as probe:
        probe.wait(1)
        asyncio.run(walk())
    report = probe.report()
    events = read_events(tmp_path / "session")
    assert_answered_but_at_restarts(report, events)
    print(f"\nTUI rolling upgrade: {report.line()}")
    for role in ("primary", "secondary"):
        assert version(lab_spec, role) == "isc-dhcpd-4.4.3-R1"
    assert states(production) == {"primary": "normal", "secondary": "normal"}
    done = {e["host"]: e["data"] for e in events
            if e["step"] == "upgrade" and e["kind"] == "peer-done"}
    assert {r: (d["before"], d["after"], d["running"], d["validated"])
            for r, d in done.items()} == {
        r: ("4.4.3-P1", "4.4.3-R1", "4.4.3-R1", True) for r in ("primary", "secondary")}
    assert all(not [f for f in d["lint"] if f["severity"] == "error"] for d in done.values())
    kinds = [(e["step"], e["kind"]) for e in events]
    assert ("upgrade", "start") in kinds and ("upgrade", "post-flight") in kinds
    # The lab's NTP warning, accepted on the check screen, recorded as `--accept ntp` is.
    assert any(e["kind"] == "override" and "ntp" in e["data"]["accepted"] for e in events)
    post = next(e for e in events if e["step"] == "upgrade" and e["kind"] == "post-flight")
    assert post["data"]["ok"] and "4.4.3-R1" in post["data"]["parity"]
    # What each survivor served while it was alone: at least the lease the test asked for.
    served = {e["host"]: e["data"] for e in events
              if e["step"] == "upgrade" and e["kind"] == "survivor"}
    assert set(served) == {"primary", "secondary"}, served
    assert all("partner-down" in d["states"] and d["leases"] >= 1 for d in served.values())
    order = [e["host"] for e in events if e["step"] == "upgrade" and e["kind"] == "peer-done"]
    assert order == ["secondary", "primary"]


def test_stop_in_the_first_window_leaves_the_survivor_serving_and_says_how_to_resume(
        production, lab_spec, tmp_path):
    from wizard.lab.client import lease

    answers = load_answers(production)
    app = WizardApp(answers, session_dir=str(tmp_path / "session"), start="check")

    async def walk():
        async with app.run_test(size=SIZE) as pilot:
            await to_upgrade(pilot, app)
            await window(pilot, app, "secondary")
            await press(pilot, app, "#stop")
            assert await until(pilot, lambda: app.screen.outcome is not None, 60), \
                text(app, "#steps")[-3000:]
            outcome = text(app, "#outcome")
            assert app.screen.outcome.left_out == "secondary", outcome
            assert "primary serves every client alone (partner-down) and was not touched" \
                in outcome
            assert f"upgrade --answers {production} --resume secondary" in outcome
            assert "Never take primary down meanwhile" in outcome
            assert app.screen.query_one("#resume").display
            # Both peers' state as the screen leaves them, and what is really there.
            assert states(production) == {"primary": "partner-down", "secondary": "shutdown"}
            got = await asyncio.to_thread(lease, lab_spec, timeout=15, new_client=True,
                                          release=False)
            assert got.server == lab_spec.address("primary"), got
            # Quitting now asks first, and says what it leaves.
            await pilot.press("ctrl+q")
            assert await until(pilot, lambda: bool(app.screen.query("#yes")), 10)
            assert "secondary is left out of service" in plain(
                app.screen.query_one(".modal-body"))
            await answer(pilot, app, "no")
            # Resume: the secondary (not upgraded) is checked and brought back, then the
            # primary's window opens; quitting there brings the primary back first.
            await press(pilot, app, "#resume")
            await window(pilot, app, "primary", 90)
            await pilot.press("q")          # the screen's own quit key, as Ctrl+Q and Ctrl+C
            assert await until(pilot, lambda: bool(app.screen.query("#choice-restore")), 10)
            body = plain(app.screen.query_one(".modal-body"))
            assert "primary is out of service right now" in body, body
            await click(pilot, app, "#choice-restore")
            assert await until(pilot, lambda: app.return_code is not None, 90), \
                text(app, "#steps")[-3000:]
    asyncio.run(walk())
    assert states(production) == {"primary": "normal", "secondary": "normal"}
    events = read_events(tmp_path / "session")
    windows = [e for e in events if e["step"] == "drill" and e["kind"] == "window-secondary"]
    assert windows and not windows[0]["data"]["ok"]
    assert "the operator stopped" in windows[0]["data"]["detail"]
    assert any(e["step"] == "drill" and e["kind"] == "verify-secondary" and e["data"]["ok"]
               for e in events)
    assert events[-1]["data"]["status"] == "cancelled"
