"""The wizard on the real lab: the whole guide through apply and the drill, a skewed clock,
and an unknown host key. Slow (the walk-through deploys and drills) and needs root."""

from __future__ import annotations

import asyncio

import pytest

from screens.app import WizardApp
from tests.helpers.apply import fresh
from tests.helpers.tui import answer, click, next_enabled, plain, until
from wizard.lab import lifecycle
from wizard.record.session import read_events

pytestmark = pytest.mark.lab
SIZE = (120, 40)


def name(app) -> str:
    return type(app.screen).__name__


def modal_ready(app) -> bool:
    return name(app) == "HostKeyModal" and bool(app.screen.query("#yes"))


async def forward(pilot, app, expected: str, timeout: float = 30):
    assert await until(pilot, lambda: next_enabled(app), timeout), \
        plain(app.screen.query_one("#gate"))
    await pilot.press("ctrl+n")
    assert await until(pilot, lambda: name(app) == expected), name(app)


def test_the_whole_guide_on_the_lab_through_apply_and_drill(lab, lab_spec, tmp_path):
    answers = fresh(lab_spec)
    subnet = lab_spec.subnet
    app = WizardApp(answers, session_dir=str(tmp_path / "session"))

    async def walk():
        async with app.run_test(size=SIZE) as pilot:
            await forward(pilot, app, "ServersScreen")
            assert await until(pilot, lambda: app.screen.state.checked, 30)
            for role in ("primary", "secondary"):
                facts = plain(app.screen.query_one(f"#{role}-facts"))
                assert "4.4.3-P1" in facts and "(same on both)" in facts
                assert "/etc/dhcp/dhcpd.conf" in facts and "isc-dhcp-server" in facts
            await forward(pilot, app, "ClockScreen")
            assert await until(pilot, lambda: app.screen.state.skew is not None, 30)
            assert app.screen.state.skew.status == "pass"
            assert "clocks agree" in plain(app.screen.query_one("#skew"))
            # The lab's chronyds serve their own clock (`local stratum 8`, no upstream): the
            # step says so, and only an explicit override goes on.
            assert "agree only with each other" in plain(app.screen.query_one("#ntp"))
            assert not next_enabled(app)
            await pilot.pause()
            await click(pilot, app, "#override")
            await forward(pilot, app, "NetworksScreen")
            assert await until(pilot, lambda: bool(app.screen.state.networks), 30)
            assert subnet in [n.cidr for n in app.screen.state.chosen()]
            await forward(pilot, app, "ElementsScreen")
            matrix = plain(app.screen.query_one("#matrix"))
            assert "primary → secondary" in matrix and "secondary → primary" in matrix
            await forward(pilot, app, "SettingsScreen")
            await forward(pilot, app, "ReviewScreen")
            assert await until(pilot, lambda: app.screen.state.plan_ready, 30)
            primary = plain(app.screen.query_one("#primary-diff"))
            secondary = plain(app.screen.query_one("#secondary-diff"))
            assert 'failover peer "failover-partner"' in primary and "mclt" in primary
            assert "mclt" not in secondary and "split" not in secondary
            assert app.screen.plan.secret not in primary + secondary
            app.screen.query_one("#confirm").value = True
            await forward(pilot, app, "ApplyScreen")
            assert await until(pilot, lambda: app.screen.state.apply_ok is not None, 120)
            assert app.screen.state.apply_ok, plain(app.screen.query_one("#outcome"))
            assert "report normal" in plain(app.screen.query_one("#outcome"))
            assert "normal" in plain(app.screen.query_one("#timeline"))
            await forward(pilot, app, "DrillScreen")
            await pilot.press("ctrl+r")
            assert await until(pilot, lambda: app.screen.state.drill_passed is not None, 180)
            assert app.screen.state.drill_passed, plain(app.screen.query_one("#outcome"))
            assert "from " in plain(app.screen.query_one("#steps"))       # the lease proof
            assert "served a real client" in plain(app.screen.query_one("#outcome"))
            await forward(pilot, app, "ProtectScreen")
            # One segment: no tunnel is offered; the client segment reaches OMAPI, which the
            # firewall rules would fix. Skipped here (the routed walk applies them).
            assert await until(pilot, lambda: app.screen.state.protect_surveyed, 30)
            assert "one segment" in plain(app.screen.query_one("#found"))
            gate = plain(app.screen.query_one("#gate"))
            assert "firewall rules" in gate and "tunnel" not in gate, gate
            assert await until(pilot, lambda: app.screen.running is None, 30)
            await click(pilot, app, "#override")
            await forward(pilot, app, "DoneScreen")
            assert await until(pilot, lambda: plain(app.screen.query_one("#final"))
                               .count(" normal, partner normal") == 2, 30)
            report = tmp_path / "session" / "report.html"
            assert f"Report: {report}" in plain(app.screen.query_one("#record"))
            assert report.is_file()              # before Finish, not only at the end
            await pilot.press("ctrl+n")
    try:
        asyncio.run(walk())
        events = read_events(tmp_path / "session")
        kinds = {(e["step"], e["kind"]) for e in events}
        assert ("session", "start") in kinds and ("review", "confirmed") in kinds
        assert ("clock", "override") in kinds
        skipped = [e for e in events if (e["step"], e["kind"]) == ("protect", "override")]
        assert skipped and skipped[0]["data"]["accepted"] == ["protect-firewall"]
        assert events[0]["data"]["command"] == "tui"
    finally:
        fresh(lab_spec)


def test_a_skewed_secondary_blocks_the_clock_step(lab, lab_spec):
    quiet = lambda _m: None  # noqa: E731
    try:
        lifecycle.down(lab_spec, progress=quiet)
        lifecycle.up(lab_spec, skew_secondary=90, progress=quiet)
        from wizard.answers import load_answers

        app = WizardApp(load_answers(lab_spec.answers_path), start="clock")

        async def go():
            async with app.run_test(size=SIZE) as pilot:
                assert await until(pilot, lambda: app.screen.state.skew is not None, 30)
                assert app.screen.state.skew.status == "fail"
                assert 89 < app.screen.state.skew.skew < 91
                assert not next_enabled(app)
                assert "ahead" in plain(app.screen.query_one("#gate"))
                assert "chrony" in plain(app.screen.query_one("#skew"))       # how to fix
        asyncio.run(go())
    finally:
        fresh(lab_spec)


def test_an_unknown_host_key_is_shown_and_trusted_only_on_yes(lab, lab_answers, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    answers = lab_answers.with_changes("primary", known_hosts=str(known)).with_changes(
        "secondary", known_hosts=str(known))
    app = WizardApp(answers, start="servers")

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: modal_ready(app), 20)
            body = plain(app.screen.query_one(".modal-body"))
            assert "SHA256:" in body and answers.primary.host in body
            await pilot.pause()  # let the modal finish its layout before answering it
            await pilot.press("escape")
            assert await until(pilot, lambda: name(app) == "ServersScreen")
            assert known.read_text() == "" and not next_enabled(app)
            assert "host key refused" in plain(app.screen.query_one("#checks"))
            await pilot.press("ctrl+r")
            answered = None
            for _ in ("primary", "secondary"):
                # A new modal each time: the one just answered may still be closing.
                assert await until(pilot, lambda: modal_ready(app) and app.screen is not answered,
                                   20)
                answered = app.screen
                await pilot.pause()
                await answer(pilot, app, "yes")
                await pilot.pause()
            assert await until(pilot, lambda: app.screen.state.checked, 30)
            assert next_enabled(app), plain(app.screen.query_one("#gate"))
    asyncio.run(go())
    assert len(known.read_text().splitlines()) == 2
