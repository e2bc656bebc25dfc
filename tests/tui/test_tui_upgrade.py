"""The upgrade screen's own decisions over a fake engine (the lab tests run the real flow,
tests/lab/test_tui_upgrade.py): when the check offers it, and what quitting or a signal in
the operator's pause does to the pause (the real OperatorGate) and what is said on exit."""

from __future__ import annotations

import asyncio
import signal

from screens.app import WizardApp
from tests.helpers.tui import ANSWERS, FakeEngine, answer, check_results, click, plain, until
from wizard.checks.base import CheckResult
from wizard.flow.steps import WizardState
from wizard.flow.upgrade import UpgradeOutcome, UpgradeRun
from wizard.ops.survivor_watch import SurvivorReading

SIZE = (120, 40)


class UpgradeEngine(FakeEngine):
    """The check of a pair in operation (the lab's one warning, NTP), and an upgrade whose
    first window waits for the screen's answer; what it returns follows that answer."""

    answer: bool | None = None

    def check(self, answers, on_result=None):
        return check_results() + [
            CheckResult("ntp", "secondary", "warn", "secondary: chrony without upstream"),
            *(CheckResult("failover-state", r, "pass", f"{r}: normal, partner normal")
              for r in ("primary", "secondary"))]

    def upgrade(self, answers, order, command=None, operator_done=None, resume=None):
        self.sink("drill", "shutdown-secondary", "ok: secondary shut down gracefully")
        self.sink("upgrade", "window", "secondary is out of service: upgrade it now, then "
                  "continue")
        self.answer = operator_done("secondary")
        if not self.answer:
            self.sink("drill", "window-secondary", "FAILED: the operator stopped the upgrade")
            return UpgradeRun(UpgradeOutcome(
                False, "secondary: stopped", order, left_out="secondary",
                advice=["Fix it, then: dhcp-wizard upgrade --answers pair.toml --resume "
                        "secondary"]))
        self.sink("drill", "recover-secondary", "ok: both peers are normal again")
        return UpgradeRun(UpgradeOutcome(False, "stopped before primary (cancelled)", order,
                                         upgraded=["secondary"]))

    def survivor_watch(self, answers, survivor):
        class Watch:
            lease_path = "/var/lib/dhcp/dhcpd.leases"

            def begin(self):
                pass

            def poll(self):
                return SurvivorReading(survivor, "partner-down", "shutdown", 1, 1,
                                       "198.51.100.150 at 12:00:00", 3.0)
        return Watch()


async def to_window(pilot, app):
    assert await until(pilot, lambda: bool(app.screen.results))
    await pilot.pause()
    assert app.screen.query_one("#upgrade").disabled      # the NTP warning, not accepted
    app.screen.query_one("#upgrade-accept").value = True
    await pilot.pause()
    app.screen.query_one("#upgrade").press()
    assert await until(pilot, lambda: type(app.screen).__name__ == "UpgradeScreen")
    await pilot.press("ctrl+r")
    assert await until(pilot, lambda: bool(app.screen.query("#yes")))
    await answer(pilot, app, "yes")
    assert await until(pilot, lambda: app.screen.gate.waiting_for == "secondary")
    assert await until(pilot, lambda: "1 lease(s)" in plain(app.screen.query_one("#survivor")))


def exit_words(capfd) -> str:
    """What the app printed as it exited (Textual prints the exit message on stderr)."""
    return " ".join(capfd.readouterr().err.split())


def test_leave_out_and_quit_stops_the_pause_and_says_how_to_resume(capfd):
    engine = UpgradeEngine()
    app = WizardApp(engine=engine, start="check", state=WizardState(ANSWERS))

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await to_window(pilot, app)
            await pilot.press("ctrl+c")
            assert await until(pilot, lambda: bool(app.screen.query("#choice-leave")))
            await click(pilot, app, "#choice-leave")
            assert await until(pilot, lambda: app.return_code is not None)
    asyncio.run(go())
    assert engine.answer is False and app.return_value == 1     # what `dhcp-wizard` exits with
    words = exit_words(capfd)
    assert "secondary is left out of service" in words and "--resume secondary" in words
    assert ("upgrade", "override") not in [(s, k) for s, k, _ in engine.recorded]
    assert any(k == "override" and "ntp" in d["accepted"] for _s, k, d in engine.recorded)


def test_sigterm_in_the_pause_brings_the_peer_back_then_quits(capfd):
    engine = UpgradeEngine()
    app = WizardApp(engine=engine, start="check", state=WizardState(ANSWERS))

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await to_window(pilot, app)
            app.on_signal(signal.SIGTERM)
            assert await until(pilot, lambda: app.return_code is not None)
    asyncio.run(go())
    assert engine.answer is True             # the pause ended as "done": put back
    assert engine.cancel.is_set() and "SIGTERM" in engine.cancel.reason
    assert app.end_status == "interrupted"
    assert "stopped before primary" in exit_words(capfd)


def test_the_upgrade_is_not_offered_on_a_pair_out_of_operation():
    class Down(UpgradeEngine):
        def check(self, answers, on_result=None):
            return check_results() + [
                CheckResult("failover-state", "primary", "pass", "primary: partner-down"),
                CheckResult("failover-state", "secondary", "fail", "secondary: shutdown")]
    app = WizardApp(engine=Down(), start="check", state=WizardState(ANSWERS))

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: bool(app.screen.results))
            await pilot.pause()
            assert app.screen.query_one("#upgrade").disabled
            assert "secondary: shutdown" in plain(app.screen.query_one("#upgrade-why"))
    asyncio.run(go())
