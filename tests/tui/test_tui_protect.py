"""The protection step's screen over the fake engine: the admin field, and the bad day (quit,
Ctrl+C, SIGTERM while the rules go in). The real rules and probes are tests/lab's."""

from __future__ import annotations

import asyncio
import signal
import threading

from screens.app import WizardApp
from tests.helpers.tui import ANSWERS, FakeEngine, answer, next_enabled, plain, until
from wizard.flow.steps import WizardState, gate

SIZE = (120, 40)


def at_protect(engine) -> WizardApp:
    return WizardApp(engine=engine, start="protect",
                     state=WizardState(ANSWERS, apply_started=True, apply_ok=True,
                                       drill_passed=True))


async def planned(pilot, app) -> None:
    assert await until(pilot, lambda: app.screen.fw_plan is not None
                       and app.screen.running is None)


async def applying(pilot, app) -> None:
    """Planned, then the apply started (the fake engine holds it until told)."""
    await planned(pilot, app)
    await pilot.press("ctrl+r")
    assert await until(pilot, lambda: app.screen.running == "fw-apply")


def test_the_admin_field_plans_again_and_refuses_what_is_not_an_address():
    engine = FakeEngine()

    async def go():
        app = at_protect(engine)
        async with app.run_test(size=SIZE) as pilot:
            await planned(pilot, app)
            assert engine.planned_admin == ("198.51.100.1/32",)       # the default: SSH's
            assert "198.51.100.1/32" in plain(app.screen.query_one("#admin-help"))
            field = app.screen.query_one("#admin")
            field.value = "10.0.0.300"
            field.focus()
            await pilot.press("enter")
            await pilot.pause()
            assert "not an IPv4 address" in plain(app.screen.query_one("#admin-error"))
            assert engine.planned_admin == ("198.51.100.1/32",)       # not planned again
            field.value = "192.0.2.10, 198.51.100.0/28"
            field.focus()
            await pilot.press("enter")
            assert await until(pilot, lambda: engine.planned_admin ==
                               ("192.0.2.10/32", "198.51.100.0/28"))
            await planned(pilot, app)
            assert plain(app.screen.query_one("#admin-error")) == ""
            assert "198.51.100.0/28" in plain(app.screen.query_one("#primary-fw-diff"))
            # What the screen learned goes on with the state (Ctrl+S saves it).
            assert app.screen.state.answers.protect.admin == ("192.0.2.10/32",
                                                              "198.51.100.0/28")
    asyncio.run(go())


def test_quit_during_the_apply_puts_back_what_is_not_confirmed_then_quits():
    engine = FakeEngine()
    engine.hold = threading.Event()

    async def go():
        app = at_protect(engine)
        async with app.run_test(size=SIZE) as pilot:
            await applying(pilot, app)
            await pilot.press("ctrl+c")
            assert await until(pilot, lambda: type(app.screen).__name__ == "ConfirmModal")
            body = plain(app.screen.query_one(".modal-body"))
            assert "watchdog puts its old rules back by itself 60 s" in body
            assert not engine.cancel.is_set()              # nothing stops before the answer
            await answer(pilot, app, "yes")
            assert await until(pilot, lambda: app.return_value is not None)
        assert app.return_value == 1 and app.end_status == "cancelled"
        assert engine.cancel.is_set() and "quit during the firewall apply" in engine.cancel.reason
        assert ("protect", "restored", {"why": engine.cancel.reason}) in engine.recorded
    asyncio.run(go())


def test_keep_going_leaves_the_apply_alone():
    engine = FakeEngine()
    engine.hold = threading.Event()

    async def go():
        app = at_protect(engine)
        async with app.run_test(size=SIZE) as pilot:
            await applying(pilot, app)
            await pilot.press("ctrl+q")
            assert await until(pilot, lambda: type(app.screen).__name__ == "ConfirmModal")
            await answer(pilot, app, "no")
            await pilot.pause(0.2)
            assert app.return_value is None and not engine.cancel.is_set()
            engine.cancel.set()                               # end the held apply
            assert await until(pilot, lambda: app.screen.state.firewall_ok is False)
            assert "put back" in plain(app.screen.query_one("#fw-outcome"))
            assert not next_enabled(app)                     # the warning stays to be skipped
    asyncio.run(go())


def test_sigterm_during_the_apply_stops_it_the_same_way():
    engine = FakeEngine()
    engine.hold = threading.Event()

    async def go():
        app = at_protect(engine)
        async with app.run_test(size=SIZE) as pilot:
            await applying(pilot, app)
            app.on_signal(signal.SIGTERM)
            assert await until(pilot, lambda: app.return_value is not None)
        assert app.return_value == 1 and app.end_status == "interrupted"
        assert engine.cancel.signum == signal.SIGTERM
    asyncio.run(go())


def test_the_tunnel_is_offered_on_a_routed_path_and_the_firewall_rules_still_after_it():
    engine = FakeEngine()

    async def go():
        app = at_protect(engine)
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.tunnel_plan is not None
                               and app.screen.running is None)
            plan = plain(app.screen.query_one("#tunnel-plan"))
            assert "wireguard-go" in plan and "primary 198.51.100.43 → 10.99.0.1" in plan
            assert not app.screen.query_one("#tunnel-apply").disabled
            app.screen.query_one("#tunnel-apply").press()
            assert await until(pilot, lambda: type(app.screen).__name__ == "ConfirmModal")
            await answer(pilot, app, "yes")
            assert await until(pilot, lambda: app.screen.state.tunnel_ok is True)
            outcome = plain(app.screen.query_one("#tunnel-outcome"))
            assert "public key PUBKEYP=" in outcome and "10.99.0.1:519 <-> 10.99.0.2:520" in outcome
            assert "wireguard-go" in plain(app.screen.query_one("#tunnel-progress"))
            # The rules admit failover from the partner's tunnel end: still offered.
            assert not app.screen.query_one("#fw-apply").disabled
            assert "tunnel end too" in plain(app.screen.query_one("#fw-why"))
            assert [w.key for w in gate("protect", app.screen.state).warnings] == \
                ["protect-firewall"]
    asyncio.run(go())


def test_with_the_firewall_rules_in_the_tunnel_is_still_offered():
    engine = FakeEngine()

    async def go():
        app = at_protect(engine)
        async with app.run_test(size=SIZE) as pilot:
            await planned(pilot, app)
            assert await until(pilot, lambda: app.screen.tunnel_plan is not None
                               and app.screen.running is None)
            await pilot.press("ctrl+r")
            assert await until(pilot, lambda: app.screen.state.firewall_ok is True)
            assert not app.screen.query_one("#tunnel-apply").disabled
            assert app.screen.query_one("#fw-apply").disabled       # applied: a new plan first
            app.screen.query_one("#tunnel-apply").press()
            assert await until(pilot, lambda: type(app.screen).__name__ == "ConfirmModal")
            await answer(pilot, app, "yes")
            assert await until(pilot, lambda: app.screen.state.tunnel_ok is True)
    asyncio.run(go())


def test_quit_during_the_tunnel_rolls_it_back_then_quits():
    engine = FakeEngine()

    async def go():
        app = at_protect(engine)
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: app.screen.tunnel_plan is not None
                               and app.screen.running is None)
            engine.hold = threading.Event()
            app.screen.query_one("#tunnel-apply").press()
            assert await until(pilot, lambda: type(app.screen).__name__ == "ConfirmModal")
            await answer(pilot, app, "yes")
            assert await until(pilot, lambda: app.screen.running == "tunnel-apply")
            await pilot.press("ctrl+q")
            assert await until(pilot, lambda: type(app.screen).__name__ == "ConfirmModal")
            assert "rolls the transaction back" in plain(app.screen.query_one(".modal-body"))
            await answer(pilot, app, "yes")
            assert await until(pilot, lambda: app.return_value is not None)
        assert app.return_value == 1 and "quit during the tunnel" in engine.cancel.reason
    asyncio.run(go())
