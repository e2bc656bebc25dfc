"""The TUI walk on the routed lab (issue 13): a Debian primary and a RHEL-layout secondary on
two sites, the sudo user alone, the client behind the relay; through apply and the drill."""

from __future__ import annotations

import asyncio

import pytest

from screens.app import WizardApp
from tests.helpers.tui import plain, until
from tests.lab.test_tui_lab import SIZE, forward
from wizard.answers import load_answers
from wizard.lab import lifecycle

pytestmark = pytest.mark.lab


def test_the_whole_guide_on_the_routed_lab_through_apply_and_drill(routed_lab, routed_spec,
                                                                   tmp_path):
    lifecycle.down(routed_spec, progress=lambda _m: None)   # the plain baseline again
    lifecycle.up(routed_spec, progress=lambda _m: None)
    answers = load_answers(routed_spec.answers_path)
    app = WizardApp(answers, session_dir=str(tmp_path / "session"))

    async def walk():
        async with app.run_test(size=SIZE) as pilot:
            await forward(pilot, app, "ServersScreen")
            assert await until(pilot, lambda: app.screen.state.checked, 30)
            assert "isc-dhcp-server" in plain(app.screen.query_one("#primary-facts"))
            secondary = plain(app.screen.query_one("#secondary-facts"))
            assert "Rocky Linux" in secondary and "dhcpd.service" in secondary
            await forward(pilot, app, "ClockScreen")
            assert await until(pilot, lambda: app.screen.state.skew is not None, 30)
            await pilot.pause()
            await pilot.click("#override")   # the lab's chronyds have no upstream
            await forward(pilot, app, "NetworksScreen")
            assert await until(pilot, lambda: bool(app.screen.state.networks), 30)
            assert str(routed_spec.served_network) in [n.cidr for n in app.screen.state.chosen()]
            await forward(pilot, app, "ElementsScreen")
            await forward(pilot, app, "SettingsScreen")
            await forward(pilot, app, "ReviewScreen")
            assert await until(pilot, lambda: app.screen.state.plan_ready, 30)
            app.screen.query_one("#confirm").value = True
            await forward(pilot, app, "ApplyScreen")
            assert await until(pilot, lambda: app.screen.state.apply_ok is not None, 120)
            assert app.screen.state.apply_ok, plain(app.screen.query_one("#outcome"))
            await forward(pilot, app, "DrillScreen")
            await pilot.press("ctrl+r")
            assert await until(pilot, lambda: app.screen.state.drill_passed is not None, 180)
            assert app.screen.state.drill_passed, plain(app.screen.query_one("#outcome"))
            steps = plain(app.screen.query_one("#steps"))
            assert routed_spec.netns("client") in steps or "from " in steps   # via the relay
            await forward(pilot, app, "DoneScreen")
            await pilot.press("ctrl+n")
    asyncio.run(walk())
