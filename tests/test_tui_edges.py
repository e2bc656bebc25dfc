"""The newcomer's edges of the TUI: what the welcome names, what the review says and draws,
what step 4 and step 2 conclude from their probes, the wizard's commands in Ctrl+P, and a
layout that works at 80x24."""

from __future__ import annotations

import asyncio

from screens.app import WizardApp
from tests.test_tui_helpers import ANSWERS, FakeEngine, plain
from wizard.answers import answers_from_dict
from wizard.steps import WizardState

SIZE = (120, 40)


def run(coro):
    return asyncio.run(coro)


def make_app(engine=None, start="welcome", answers=ANSWERS, **state):
    return WizardApp(engine=engine or FakeEngine(), start=start,
                     state=WizardState(answers, **state))


# -- welcome -------------------------------------------------------------------------------

def test_the_welcome_names_the_pair_the_loaded_answers_will_change():
    answers = answers_from_dict({
        "primary": {"host": "dhcp1.example.net", "user": "admin", "sudo": True},
        "secondary": {"host": "dhcp2.example.net", "port": 2222},
        "failover": {"name": "campus-pair"},
    }, source="/etc/dhcp-wizard/campus.toml")

    async def go():
        app = make_app(answers=answers)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            pair = plain(app.screen.query_one("#pair"))
            assert "/etc/dhcp-wizard/campus.toml" in pair
            assert "admin@dhcp1.example.net with sudo" in pair
            # No user in the answers: said where it will come from, not guessed.
            assert "dhcp2.example.net:2222" in pair and "~/.ssh/config" in pair
            assert 'failover peer "campus-pair"' in pair
            # Above the long explanation, where it is seen without scrolling.
            assert app.screen.query_one("#pair").region.y < \
                app.screen.query_one("#welcome-text").region.y
    run(go())
