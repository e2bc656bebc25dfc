"""The wizard's screens driven with Pilot over a fake engine: fast, no servers needed."""

from __future__ import annotations

import asyncio

from screens.app import WizardApp
from tests.helpers.tui import ANSWERS, SECRET, FakeEngine, answer, click, next_enabled, plain, until
from wizard.answers import load_answers
from wizard.flow.steps import WizardState

SIZE = (120, 40)


def run(coro):
    return asyncio.run(coro)


def make_app(engine=None, start="welcome", **state):
    return WizardApp(engine=engine or FakeEngine(), start=start,
                     state=WizardState(ANSWERS, **state))


def screen_name(app) -> str:
    return type(app.screen).__name__


async def next_step(pilot, app, expected: str):
    assert await until(pilot, lambda: next_enabled(app)), plain(app.screen.query_one("#gate"))
    await pilot.press("ctrl+n")
    assert await until(pilot, lambda: screen_name(app) == expected), screen_name(app)


def test_the_whole_guide_in_order_with_what_each_screen_shows():
    async def walk():
        app = make_app()
        async with app.run_test(size=SIZE) as pilot:
            assert screen_name(app) == "WelcomeScreen"
            assert "Nothing on the servers has changed until you confirm" in \
                plain(app.screen.query_one("#welcome-text"))
            await next_step(pilot, app, "ServersScreen")
            assert await until(pilot, lambda: app.screen.state.checked)
            facts = plain(app.screen.query_one("#primary-facts"))
            assert "4.4.3-P1" in facts and "(same on both)" in facts
            assert "/var/lib/dhcp/dhcpd.leases" in facts
            await next_step(pilot, app, "ClockScreen")
            assert await until(pilot, lambda: app.screen.state.skew is not None)
            assert "0.004 s ahead" in plain(app.screen.query_one("#skew"))
            await next_step(pilot, app, "NetworksScreen")
            assert await until(pilot, lambda: bool(app.screen.state.networks))
            # Only the answers' subnet is pre-selected; the other is offered.
            assert app.screen.state.answers.failover.pools == ("198.51.100.0/24",)
            await next_step(pilot, app, "ElementsScreen")
            matrix = plain(app.screen.query_one("#matrix"))
            assert "primary → secondary 198.51.100.12:647" in matrix and "OMAPI" in matrix
            await next_step(pilot, app, "SettingsScreen")
            await next_step(pilot, app, "ReviewScreen")
            assert await until(pilot, lambda: app.screen.state.plan_ready)
            assert not next_enabled(app)          # explicit confirmation first
            app.screen.query_one("#confirm").value = True
            await next_step(pilot, app, "ApplyScreen")
            assert await until(pilot, lambda: app.screen.state.apply_ok is True)
            assert "report normal after 1.5 s" in plain(app.screen.query_one("#outcome"))
            assert "restart dhcpd" in plain(app.screen.query_one("#primary-phases"))
            await next_step(pilot, app, "DrillScreen")
            await pilot.press("ctrl+r")
            assert await until(pilot, lambda: app.screen.state.drill_passed is True)
            steps = plain(app.screen.query_one("#steps"))
            assert "198.51.100.150 from 198.51.100.12" in steps
            assert "to partner down: 0.1 s" in plain(app.screen.query_one("#outcome"))
            await next_step(pilot, app, "ProtectScreen")
            assert await until(pilot, lambda: not app.screen.query_one("#fw-apply").disabled)
            assert "routed" in plain(app.screen.query_one("#found"))
            await pilot.press("ctrl+r")
            assert await until(pilot, lambda: app.screen.state.firewall_ok is True)
            # The routed, untrusted path still wants a tunnel: going on past it is explicit.
            assert not next_enabled(app) and "not tunnelled" in \
                plain(app.screen.query_one("#gate"))
            await click(pilot, app, "#override")
            await next_step(pilot, app, "DoneScreen")
            assert await until(pilot, lambda: "normal" in plain(app.screen.query_one("#final")))
            assert app.engine.session_path in plain(app.screen.query_one("#record"))
            await pilot.press("ctrl+n")
            assert await until(pilot, lambda: app.return_code == 0)
    run(walk())


def test_back_returns_to_the_previous_step_with_what_it_learned():
    async def go():
        app = make_app(start="servers")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.checked)
            await next_step(pilot, app, "ClockScreen")
            await pilot.press("ctrl+b")
            assert await until(pilot, lambda: screen_name(app) == "ServersScreen")
            assert app.screen.state.checked          # no new inspection needed
            assert "4.4.3-P1" in plain(app.screen.query_one("#primary-facts"))
            # Changing a host forgets what was learned about the old one.
            app.screen.query_one("#secondary-host").value = "198.51.100.99"
            await pilot.pause()
            assert not app.screen.state.checked and not next_enabled(app)
    run(go())


def test_config_and_restart_typed_on_step_1_override_what_is_detected():
    async def go():
        app = make_app(start="servers")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.checked)
            config = app.screen.query_one("#primary-config")
            config.value = "srv/dhcpd.conf"
            await pilot.pause()
            assert config.has_class("-invalid") and app.screen.state.answers.primary.config is None
            config.value = "/srv/dhcp/dhcpd.conf"
            app.screen.query_one("#secondary-restart").value = "systemctl restart dhcpd"
            await pilot.pause()
            a = app.screen.state.answers
            assert not config.has_class("-invalid") and a.primary.config == "/srv/dhcp/dhcpd.conf"
            assert a.secondary.restart == "systemctl restart dhcpd"
            assert not app.screen.state.checked  # inspected again with the new paths
    run(go())


def test_a_relay_is_confirmed_by_hand_or_switched_to_a_check_over_ssh():
    async def go():
        app = make_app(start="elements")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.checked)
            app.screen.query_one("#relays").value = "203.0.113.1"
            await pilot.pause()
            assert not next_enabled(app)
            assert app.screen.query(".relay-confirm")  # the lines to add, and their confirmation
            app.screen.query_one(".relay-ssh").value = True
            assert await until(pilot, lambda: not app.screen.query(".relay-confirm"))
            assert app.screen.state.answers.relays.ssh == ("203.0.113.1",)
            assert "to check relay 203.0.113.1 over SSH" in plain(app.screen.query_one("#gate"))
    run(go())


def test_a_skewed_clock_blocks_next_and_says_why():
    async def go():
        app = make_app(engine=FakeEngine(skew=90.2), start="clock")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.skew is not None)
            assert not next_enabled(app)
            gate = plain(app.screen.query_one("#gate"))
            assert "Next is blocked until" in gate and "90.2 s ahead" in gate
            assert not app.screen.query_one("#override").display    # no override for a fail
            assert "How to fix it" in plain(app.screen.query_one("#skew"))
    run(go())


def test_a_warning_is_passed_only_by_an_explicit_override_that_is_recorded():
    async def go():
        engine = FakeEngine()
        app = make_app(engine=engine, start="networks")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: bool(app.screen.state.networks))
            assert next_enabled(app)
            app.screen.query_one("#nets").select_all()
            assert await until(pilot, lambda: app.screen.state.differences != ())
            assert "10.9.0.0/24" in plain(app.screen.query_one("#gate"))
            assert not next_enabled(app) and app.screen.query_one("#override").display
            await pilot.pause()
            await click(pilot, app, "#override")
            assert await until(pilot, lambda: next_enabled(app))
            await pilot.press("ctrl+n")
            assert await until(pilot, lambda: screen_name(app) == "ElementsScreen")
            assert ("networks", "override") in [(s, k) for s, k, _ in engine.recorded]
    run(go())


def test_settings_are_validated_as_you_type_and_modes_set_split():
    async def go():
        app = make_app(start="settings")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            app.screen.query_one("#f-mclt").value = "soon"
            await pilot.pause()
            assert "must be a whole number" in plain(app.screen.query_one("#e-mclt"))
            assert not next_enabled(app)
            assert "mclt: must be a whole number" in plain(app.screen.query_one("#gate"))
            app.screen.query_one("#f-mclt").value = "1800"
            await pilot.pause()
            assert next_enabled(app) and app.screen.state.answers.failover.mclt == 1800
            hot = next(b for b in app.screen.query("RadioButton") if b.name == "hot-standby")
            hot.value = True
            await pilot.pause()
            assert app.screen.state.answers.failover.split == 256
            assert app.screen.query_one("#f-split").disabled
            # hba instead of split: typed in its own field, checked, and split is dropped.
            hba = next(b for b in app.screen.query("RadioButton") if b.name == "hba")
            hba.value = True
            await pilot.pause()
            assert not app.screen.query_one("#f-hba").disabled
            assert not next_enabled(app) and "hba: required" in plain(app.screen.query_one("#gate"))
            bitmap = ":".join(["ff"] * 16 + ["00"] * 16)
            app.screen.query_one("#f-hba").value = bitmap
            await pilot.pause()
            fo = app.screen.state.answers.failover
            assert next_enabled(app) and fo.hba == bitmap and fo.split is None
    run(go())


def test_review_masks_the_key_until_revealed_and_never_shows_it_in_the_diffs():
    async def go():
        app = make_app(start="review")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.state.plan_ready)
            assert SECRET not in plain(app.screen.query_one("#key"))
            assert SECRET not in plain(app.screen.query_one("#primary-diff"))
            assert "split 128" in plain(app.screen.query_one("#primary-diff"))
            assert "split 128" not in plain(app.screen.query_one("#secondary-diff"))
            await pilot.press("ctrl+k")
            assert SECRET in plain(app.screen.query_one("#key"))
    run(go())


def test_cancel_during_apply_asks_then_cancels_the_engine_and_allows_going_back():
    """What the screen does with Esc: asks, cancels the running operation's token, and once
    the engine reports the rollback, lets the user go back. That the servers really roll
    back is tests/lab/test_tui_lab_interrupt.py's, on the lab."""
    async def go():
        engine = FakeEngine()
        engine.hold = True
        app = make_app(engine=engine, start="apply", plan_ready=True, plan_confirmed=True)
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: "switch" in plain(
                app.screen.query_one("#primary-phases")))
            apply_screen = app.screen
            assert apply_screen.query_one("#back").disabled
            await pilot.press("escape")
            assert await until(pilot, lambda: screen_name(app) == "ConfirmModal" and bool(app.screen.query("#yes")))
            assert "rolled back" in plain(app.screen.query_one(".modal-body"))
            await pilot.pause()
            assert not engine.cancel.is_set()        # asking is not cancelling
            await answer(pilot, app, "yes")
            assert await until(pilot, lambda: engine.cancel.is_set())
            assert "operator" in engine.cancel.reason
            assert await until(pilot, lambda: apply_screen.state.apply_ok is False)
            assert apply_screen.state.rolled_back
            assert not next_enabled(app)
            assert not apply_screen.query_one("#back").disabled
    run(go())


def test_quit_during_apply_asks_first():
    async def go():
        engine = FakeEngine()
        engine.hold = True
        app = make_app(engine=engine, start="apply", plan_ready=True, plan_confirmed=True)
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.running == "apply")
            await pilot.press("ctrl+q")
            assert await until(pilot, lambda: screen_name(app) == "ConfirmModal" and bool(app.screen.query("#yes")))
            await pilot.pause()
            await answer(pilot, app, "no")
            await pilot.pause()
            assert screen_name(app) == "ApplyScreen" and not engine.cancel.is_set()
            await pilot.press("ctrl+q")
            assert await until(pilot, lambda: screen_name(app) == "ConfirmModal" and bool(app.screen.query("#yes")))
            await pilot.pause()
            await answer(pilot, app, "yes")
            assert await until(pilot, lambda: app.return_code is not None)
            assert engine.cancel.is_set()
    run(go())


def test_the_answers_can_be_saved_at_any_step(tmp_path):
    async def go():
        app = make_app(start="settings")
        target = tmp_path / "saved.toml"
        async with app.run_test(size=SIZE) as pilot:
            app.screen.query_one("#f-name").value = "campus-pair"
            await pilot.pause()
            await pilot.press("ctrl+s")
            assert await until(pilot, lambda: screen_name(app) == "SaveModal")
            app.screen.query_one("#path").value = str(target)
            await pilot.pause()
            await click(pilot, app, "#save")
            assert await until(pilot, target.exists)
        saved = load_answers(target)
        assert saved.failover.name == "campus-pair" and saved.primary.host == "198.51.100.11"
    run(go())


def test_an_engine_error_is_a_modal_with_its_fix_never_a_traceback():
    from wizard.errors import OperationFailed

    class Broken(FakeEngine):
        def networks(self, answers):
            raise OperationFailed("primary: cannot read /etc/dhcp/dhcpd.conf", "check sudo")

    async def go():
        app = make_app(engine=Broken(), start="networks")
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: screen_name(app) == "ErrorModal")
            body = plain(app.screen.query_one(".modal-body"))
            assert "cannot read /etc/dhcp/dhcpd.conf" in body and "check sudo" in body
            await pilot.press("enter")
            assert await until(pilot, lambda: screen_name(app) == "NetworksScreen")
            assert not next_enabled(app)
    run(go())


def test_the_drill_takes_out_the_secondary_too_when_asked():
    async def go():
        engine = FakeEngine()
        app = make_app(engine=engine, start="drill", apply_ok=True)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await click(pilot, app, "#both")
            await pilot.press("ctrl+r")
            assert await until(pilot, lambda: app.screen.state.drill_passed is not None)
            assert engine.drilled == ("primary", "secondary")
            # Once it ran, the choice is the record's, not the screen's to change.
            assert app.screen.query_one("#both").disabled
    run(go())
