"""The wizard on the real lab, going back from Review to change a setting: the session it
records still verifies, keeps both plans, and its report names the one applied. Needs root."""

from __future__ import annotations

import asyncio
import re

import pytest

from screens.app import WizardApp
from tests.helpers.apply import fresh
from tests.helpers.tui import next_enabled, plain, until
from wizard.record.evidence import verify

pytestmark = pytest.mark.lab
SIZE = (120, 40)


def mclt(text: str) -> list[str]:
    return re.findall(r"\bmclt\s+(\d+);", text)


def name(app) -> str:
    return type(app.screen).__name__


async def forward(pilot, app, expected: str, timeout: float = 30):
    assert await until(pilot, lambda: next_enabled(app), timeout), \
        plain(app.screen.query_one("#gate"))
    await pilot.press("ctrl+n")
    assert await until(pilot, lambda: name(app) == expected), name(app)


def test_review_back_change_mclt_review_apply_records_a_verifiable_session(lab, lab_spec,
                                                                          tmp_path):
    answers = fresh(lab_spec)
    first, second = str(answers.failover.mclt), str(answers.failover.mclt + 15)
    session = tmp_path / "session"
    app = WizardApp(answers, session_dir=str(session), start="settings")

    async def walk():
        async with app.run_test(size=SIZE) as pilot:
            await forward(pilot, app, "ReviewScreen")
            assert await until(pilot, lambda: app.screen.state.plan_ready, 30)
            assert mclt(plain(app.screen.query_one("#primary-diff"))) == [first]
            await pilot.press("ctrl+b")
            assert await until(pilot, lambda: name(app) == "SettingsScreen")
            await pilot.pause()
            app.screen.query_one("#f-mclt").value = second
            await pilot.pause()
            await forward(pilot, app, "ReviewScreen")
            assert await until(pilot, lambda: app.screen.state.plan_ready, 30)
            assert mclt(plain(app.screen.query_one("#primary-diff"))) == [second]
            app.screen.query_one("#confirm").value = True
            await forward(pilot, app, "ApplyScreen")
            assert await until(pilot, lambda: app.screen.state.apply_ok is not None, 120)
            assert app.screen.state.apply_ok, plain(app.screen.query_one("#outcome"))
    try:
        asyncio.run(walk())      # leaving the app closes the session
        _events, problems = verify(session)
        assert problems == []
        art = session / "artifacts"
        assert mclt((art / "plan1-primary.after.conf").read_text()) == [first]
        assert mclt((art / "plan2-primary.after.conf").read_text()) == [second]
        md = (session / "report.md").read_text()
        assert "| plans | plan 1: not applied; plan 2: applied (committed" in md
        assert "complete and untampered" in md
    finally:
        fresh(lab_spec)
