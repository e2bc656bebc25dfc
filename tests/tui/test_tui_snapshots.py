"""Snapshots of every screen over the fake engine (stable data, no cursor blink).

Update after an intended change with `pytest tests/tui/test_tui_snapshots.py --snapshot-update`
and look at the SVGs in tests/tui/__snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest

from screens.app import WizardApp
from tests.helpers.tui import ANSWERS, FakeEngine, next_enabled, until
from wizard.flow.steps import WizardState

SIZE = (120, 40)


def app_at(start: str, engine=None, **state) -> WizardApp:
    return WizardApp(engine=engine or FakeEngine(), start=start,
                     state=WizardState(ANSWERS, **state))


def settle(condition=lambda app: True, press: tuple[str, ...] = ()):
    async def run_before(pilot):
        app = pilot.app
        for key in press:
            await pilot.press(key)
        # A snapshot of a screen still working would compare whatever moment it caught.
        assert await until(pilot, lambda: condition(app) and
                           not getattr(app.screen, "running", None)), "the screen never settled"
        for widget in app.screen.query("Input"):
            widget.cursor_blink = False
        await pilot.pause()
    return run_before


STEPS = {
    "welcome": settle(),
    "servers": settle(lambda app: app.screen.state.checked),
    "clock": settle(lambda app: app.screen.state.skew is not None),
    "networks": settle(lambda app: bool(app.screen.state.networks)),
    "elements": settle(lambda app: app.screen.state.checked),
    "settings": settle(),
    "review": settle(lambda app: app.screen.state.plan_ready),
    "apply": settle(lambda app: app.screen.state.apply_ok is not None),
    "drill": settle(lambda app: app.screen.state.drill_passed is not None, press=("ctrl+r",)),
    "protect": settle(lambda app: getattr(app.screen, "fw_plan", None) is not None),
    "done": settle(lambda app: "normal" in str(app.screen.query_one("#final").content)),
    "check": settle(lambda app: "checks passed" in str(app.screen.query_one("#summary").content)),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_screen(snap_compare, step):
    app = app_at(step, plan_ready=step == "apply", plan_confirmed=step == "apply",
                 apply_ok=True if step in ("drill", "protect", "done") else None)
    assert snap_compare(app, terminal_size=SIZE, run_before=STEPS[step])


@pytest.mark.parametrize("step", ["welcome", "review"])
def test_at_80x24(snap_compare, step):
    """The smallest common terminal: the step list shrinks to numbers, the diffs stack."""
    assert snap_compare(app_at(step), terminal_size=(80, 24), run_before=STEPS[step])


def test_clock_blocked_by_skew(snap_compare):
    app = app_at("clock", engine=FakeEngine(skew=90.2))
    assert snap_compare(app, terminal_size=SIZE,
                        run_before=settle(lambda app: app.screen.state.skew is not None))


def test_settings_with_an_invalid_field(snap_compare):
    async def run_before(pilot):
        pilot.app.screen.query_one("#f-split").disabled = False
        pilot.app.screen.query_one("#f-split").value = "300"
        await settle()(pilot)
    assert snap_compare(app_at("settings"), terminal_size=SIZE, run_before=run_before)


def test_help_panel(snap_compare):
    assert snap_compare(app_at("settings"), terminal_size=SIZE,
                        run_before=settle(press=("f1",)))


def test_host_key_modal(snap_compare):
    from screens.modals import HostKeyModal

    async def run_before(pilot):
        await settle()(pilot)
        pilot.app.push_screen(HostKeyModal("primary", "198.51.100.11", "ssh-ed25519",
                                           "SHA256:2VuFfFWx2SA6l1cFE884antTGrZ37tdC5mzQV/wPD3I",
                                           "/root/.ssh/known_hosts"))
        await pilot.pause()
    assert snap_compare(app_at("welcome"), terminal_size=SIZE, run_before=run_before)


def test_error_modal(snap_compare):
    from screens.modals import ErrorModal

    async def run_before(pilot):
        await settle()(pilot)
        pilot.app.push_screen(ErrorModal("primary: `sudo -n` refused: a password is required",
                                         "allow admin password-less sudo, or connect as root"))
        await pilot.pause()
    assert snap_compare(app_at("welcome"), terminal_size=SIZE, run_before=run_before)


def test_apply_rolled_back(snap_compare):
    app = app_at("apply", engine=FakeEngine(apply_ok=False), plan_ready=True,
                 plan_confirmed=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=STEPS["apply"])


def test_next_is_enabled_on_every_passing_fake_step():
    """The snapshots above show passing steps; this keeps them honest about the gate."""
    import asyncio

    async def go(step):
        app = app_at(step)
        async with app.run_test(size=SIZE) as pilot:
            await STEPS[step](pilot)
            return next_enabled(app)
    for step in ("servers", "clock", "elements", "settings"):
        assert asyncio.run(go(step)), step
