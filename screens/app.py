"""The wizard app: owns the state and the engine, and follows wizard.flow.steps from screen to
screen. Screens never push each other; each returns a StepResult and the app decides."""

from __future__ import annotations

import importlib
import os
import threading
from typing import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from assets import asset_path
from screens.base import StepResult, error_text
from screens.modals import ChoiceModal
from wizard.flow.engine import Engine
from wizard.flow import steps
from wizard.answers import Answers, HostAnswers

# Imported when first shown, so the first screen draws without loading the others.
SCREENS = {
    "welcome": "screens.welcome:WelcomeScreen",
    "servers": "screens.servers:ServersScreen",
    "clock": "screens.clock:ClockScreen",
    "networks": "screens.networks:NetworksScreen",
    "elements": "screens.elements:ElementsScreen",
    "settings": "screens.settings:SettingsScreen",
    "review": "screens.review:ReviewScreen",
    "apply": "screens.apply:ApplyScreen",
    "drill": "screens.drill:DrillScreen",
    "protect": "screens.protect:ProtectScreen",
    "done": "screens.done:DoneScreen",
    steps.CHECK: "screens.check:CheckScreen",
    "upgrade": "screens.upgrade:UpgradeScreen",    # from the check, outside the ten steps
}
UPGRADE = "upgrade"


def screen_class(step_id: str) -> type[Screen]:
    module, _, name = SCREENS[step_id].partition(":")
    return getattr(importlib.import_module(module), name)


def _import_the_rest() -> None:
    """Import the engine (paramiko among it) and the other screens while the user reads
    the first screen: a first import inside a step's worker holds the import lock, and the
    UI thread waiting on it is a visible stall."""
    for module in ("wizard.flow.deployment", "wizard.remote.ssh", "wizard.checks.engine",
                   "wizard.facts", "wizard.checks.clock", "wizard.conf.plan", "wizard.ops.omapi",
                   "wizard.ops.drill", "wizard.flow.upgrade", "paramiko",
                   *{m.partition(":")[0] for m in SCREENS.values()}):
        importlib.import_module(module)


def blank_answers() -> Answers:
    return Answers(HostAnswers(""), HostAnswers(""))


class WizardApp(App[int]):
    CSS_PATH = str(asset_path("wizard.tcss"))
    TITLE = "dhcp-wizard"
    SUB_TITLE = "ISC DHCP failover, step by step"
    # Screens get -narrow below 110 columns; wizard.tcss then gives the content the room.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("ctrl+q", "request_quit", "Quit", priority=True),
        # Ctrl+C is what a sysadmin presses to stop: it gets the same safe quit, never a
        # silent exit in the middle of a change.
        Binding("ctrl+c", "request_quit", "Quit", show=False, priority=True),
        Binding("ctrl+s", "save_answers", "Save answers"),
    ]

    def __init__(self, answers: Answers | None = None, session_dir: str | None = None,
                 engine: Engine | None = None, start: str = "welcome",
                 state: steps.WizardState | None = None):
        super().__init__()
        self.state = state or steps.WizardState(answers or blank_answers())
        self.engine = engine or Engine(session_dir, passphrase=self.ask_passphrase)
        self.start = start
        self.show_help = False
        self.quit_after_apply = False
        self.quit_after_drill = False
        self.end_status = "done"
        self.current = start

    def on_mount(self) -> None:
        self.show_step(self.start)
        self.call_after_refresh(self._warm_up)
        self._catch_signals()

    def _catch_signals(self) -> None:
        """SIGTERM (a shutdown, `kill`) and SIGHUP (the terminal or SSH session is gone) end
        the wizard only after whatever it was changing is put back."""
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        self._signals = []
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(sig, self.on_signal, sig)
                self._signals.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or a platform without it

    def on_signal(self, signum: int) -> None:
        from wizard.interrupt import SIGNALS

        name = SIGNALS.get(signum, f"signal {signum}")
        self.end_status = "interrupted"
        holder = self._quit_holder()
        if holder is not None and holder.hold_quit(signum):
            return
        token = getattr(self.screen, "token", None)
        if self.applying() and token is not None:
            self.quit_after_apply = True
            token.cancel(f"interrupted by {name}", "interrupted", signum)
        elif self.drilling() and token is not None:
            self.quit_after_drill = True
            token.cancel(f"interrupted by {name}", "interrupted", signum)
        elif getattr(self.screen, "interrupted", None) and self.screen.interrupted(name, signum):
            pass    # the upgrade screen puts the peer out of service back, then quits
        else:
            self.exit(128 + signum)

    def _warm_up(self) -> None:
        self.run_worker(_import_the_rest, thread=True, exit_on_error=False, group="warm-up")

    def show_step(self, step_id: str) -> None:
        self.current = step_id
        self.push_screen(screen_class(step_id)(self.state), self._left)

    def _left(self, result: StepResult | None) -> None:
        if result is None:
            return
        self.state = result.state
        here = self.current
        if result.direction == steps.CHECK:
            target = steps.CHECK
        elif result.direction == UPGRADE:
            target = UPGRADE
        elif here == steps.CHECK:
            target = "welcome" if result.direction == "back" else None
        elif here == UPGRADE:
            target = steps.CHECK if result.direction == "back" else None
        elif result.direction == "back":
            target = steps.previous_step(here)
        else:
            target = steps.next_step(here)
        if target is None:
            self.exit(0)
            return
        self.show_step(target)

    # -- app-wide actions ------------------------------------------------------------------
    def applying(self) -> bool:
        return self.state_now().apply_started and self.state_now().apply_ok is None

    def state_now(self) -> steps.WizardState:
        screen = self.screen
        return getattr(screen, "state", self.state)

    def drilling(self) -> bool:
        return getattr(self.screen, "running", None) == "drill"

    def _quit_holder(self):
        """The step screen under any modal that may take a quit over (hold_quit): one whose
        work on the servers must be stopped its own way first."""
        return next((s for s in reversed(self.screen_stack) if hasattr(s, "hold_quit")), None)

    def action_request_quit(self) -> None:
        from screens.modals import ConfirmModal

        holder = self._quit_holder()
        if holder is not None and holder.hold_quit():
            return
        if self.applying():
            def answer(yes: bool | None) -> None:
                if yes:
                    self.quit_after_apply = True
                    self.end_status = "cancelled"
                    self.screen.token.cancel("cancelled: the operator quit during the apply")
                    self.notify("Rolling both servers back; the wizard quits when they run "
                                "their previous configuration.", timeout=10)
            self.push_screen(ConfirmModal(
                "An apply is under way",
                "Quitting now cancels the apply: both servers are rolled back to the "
                "configuration they ran before, then the wizard quits. Quit?",
                yes="Roll back and quit", no="Keep going"), answer)
            return
        if self.drilling():
            def choice(value: str | None) -> None:
                if value == "restore":
                    self.quit_after_drill = True
                    self.end_status = "cancelled"
                    self.screen.token.cancel("cancelled: the operator quit during the drill")
                    self.notify("Putting the pair back into operation; the wizard quits when "
                                "both are normal.", timeout=10)
                elif value == "anyway":
                    self.engine.record("drill", "abandoned", note="quit during the drill; a "
                                       "peer may be left in shutdown: `dhcp-wizard check` "
                                       "shows it and the command that brings it back")
                    self.end_status = "abandoned"
                    self.exit(1)
            self.push_screen(ChoiceModal(
                "The failover test is running",
                "One server may be shut down right now. Put the pair back into operation "
                "before quitting (recommended), or quit anyway and leave it as it is: "
                "`dhcp-wizard check` then shows what is out of service and how to bring it "
                "back.", {"restore": "Put back, then quit", "anyway": "Quit anyway",
                          "stay": "Keep going"}), choice)
            return
        # The upgrade screen says what state the pair is in, and asks, before quitting.
        asks = getattr(self.screen, "quit_requested", None)
        if asks is not None and asks():
            return
        self.exit(0)

    def action_save_answers(self) -> None:
        from screens.modals import SaveModal

        default = os.path.abspath("dhcp-wizard-answers.toml")
        self.push_screen(SaveModal(default), self._save_to)

    def _save_to(self, path: str | None) -> None:
        from wizard.answers import dump_answers

        if not path:
            return
        try:
            with open(os.path.expanduser(path), "w", encoding="utf-8") as fh:
                fh.write(dump_answers(self.state_now().answers))
        except OSError as exc:
            self.show_error(OSError(f"cannot write {path}: {exc.strerror}"))
            return
        self.notify(f"Answers saved to {path}. Use them with `dhcp-wizard --answers {path}`, "
                    "`dhcp-wizard check` or `dhcp-wizard deploy`.", timeout=8)

    def show_error(self, error: BaseException) -> None:
        from screens.modals import ErrorModal

        message, fix = error_text(error)
        if isinstance(error, OSError) and not fix:
            fix = "choose another path"
        self.push_screen(ErrorModal(message, fix))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's own Quit exits at once, even in the middle of an apply: the wizard's asks
        # and rolls back first.
        yield from (c for c in super().get_system_commands(screen) if c.title != "Quit")
        yield SystemCommand("Quit", "Leave the wizard (during an apply: roll back first)",
                            self.action_request_quit)
        yield SystemCommand("Save answers", "Write the current answers to a TOML file",
                            self.action_save_answers)
        yield SystemCommand("Open the report", "The session's report (report.html, report.md)",
                            self._open_report)
        from screens.base import StepScreen

        if not isinstance(screen, StepScreen):
            return
        yield SystemCommand("Help for this step", "Show or hide the guide's text for this step",
                            lambda: screen.run_action("toggle_help"))
        yield SystemCommand("Next step", "Go on, if nothing blocks it",
                            lambda: screen.run_action("next"))
        yield SystemCommand("Previous step", "Go back one step",
                            lambda: screen.run_action("back"))
        if screen.STEP != steps.CHECK:
            why = _why_not_check(screen)
            yield SystemCommand("Check the existing pair",
                                f"Not now: {why}" if why else
                                "Every check on a running pair, nothing changed",
                                lambda: self._leave_for(screen, steps.CHECK))
        for step in steps.STEPS:
            if step.id == screen.STEP:
                continue
            why = why_not_go_to(screen.STEP, step.id, screen.state, screen.running)
            name = (f"step {step.label.replace('. ', ': ', 1)}" if step.guide
                    else f"the {step.title.lower()} screen")
            yield SystemCommand(f"Go to {name}",
                                f"Not now: {why}" if why else "Jump there with what the wizard "
                                "has learned so far", lambda s=step.id: self._leave_for(screen, s))

    def _leave_for(self, screen, target: str) -> None:
        """Leave screen for target, a step or the check, if the wizard's rules allow it now."""
        here = screen.STEP
        why = (_why_not_check(screen) if target == steps.CHECK else
               why_not_go_to(here, target, screen.state, screen.running))
        if why:
            self.notify(why, title="Not now", severity="warning")
            return
        state = screen.state
        if target != steps.CHECK and here in steps.STEP_IDS and \
                steps.STEP_IDS.index(target) > steps.STEP_IDS.index(here):
            for passed in steps.STEP_IDS[steps.STEP_IDS.index(here):steps.STEP_IDS.index(target)]:
                self.engine.record_acceptance(passed, steps.gate(passed, state), state.overrides)
        else:
            self.engine.cancel.set()     # as Back does: whatever this step waits for is moot
        self.state = state
        self.pop_screen()
        self.show_step(target)

    def _open_report(self) -> None:
        def find() -> None:
            title, message = _find_report(self.engine.session_path)
            self.call_from_thread(self.notify, message, title=title, timeout=15)

        self.run_worker(find, thread=True, exit_on_error=False, group="report")

    # -- called from worker threads --------------------------------------------------------
    def ask_passphrase(self, what: str) -> str | None:
        from screens.modals import SecretModal

        answer: dict = {}
        ready = threading.Event()

        def got(value: str | None) -> None:
            answer["value"] = value
            ready.set()

        self.call_from_thread(self.push_screen, SecretModal(what), got)
        ready.wait(600)
        return answer.get("value")

    def on_unmount(self) -> None:
        import asyncio

        try:
            loop = asyncio.get_running_loop()
            for sig in getattr(self, "_signals", ()):
                loop.remove_signal_handler(sig)
        except RuntimeError:
            pass
        self.engine.close(self.end_status)


def why_not_go_to(here: str, target: str, state: steps.WizardState,
                  running: str | None = None) -> str | None:
    """Why the wizard may not jump from step here to step target now, or None.

    The same rules as Back and Next, over several steps: back while Back is allowed, forward
    while every gate on the way is open (or its warnings overridden). Apply is never jumped
    to nor past: it is reached with Next from the review, whose confirmation starts it."""
    if running:
        return "this step is still working (Esc cancels it)"
    if here not in steps.STEP_IDS:
        return None if target == "welcome" else "go back to the welcome screen first"
    i, j = steps.STEP_IDS.index(here), steps.STEP_IDS.index(target)
    if j < i:
        return steps.back_blocked(here, state)
    review = steps.STEP_IDS.index("review")
    if i <= review < j and not (i == review and j == review + 1):
        return "the plan must be confirmed and applied first (Next on step 6–7)"
    for passed in steps.STEP_IDS[i:j]:
        if not steps.may_continue(passed, state):
            g = steps.gate(passed, state)
            reason = g.reasons[0] if g.reasons else \
                "its warnings are not accepted (the tick box there goes on past them)"
            return f"step {steps.step(passed).label}: {reason}"
    return None


def _why_not_check(screen) -> str | None:
    if screen.running:
        return "this step is still working (Esc cancels it)"
    if screen.state.apply_started and screen.state.apply_ok is None:
        return "an apply is under way"
    return None


def _find_report(session_path: str | None) -> tuple[str, str]:
    """(title, message) saying where the report is, opening it when there is a viewer.
    Runs in a worker: it looks at the disk and may start a program."""
    import shutil
    import subprocess

    if not session_path:
        return ("No report yet", "The wizard records a session (and its report) once it "
                "has talked to a server.")
    html, md = os.path.join(session_path, "report.html"), os.path.join(session_path, "report.md")
    there = [p for p in (html, md) if os.path.exists(p)]
    if not there:
        return ("No report yet", f"Step 10 writes it to {html} (and report.md); the events "
                f"so far are in {os.path.join(session_path, 'events.jsonl')}.")
    viewer = shutil.which("xdg-open")
    if html in there and viewer and (os.environ.get("DISPLAY") or
                                     os.environ.get("WAYLAND_DISPLAY")):
        subprocess.Popen([viewer, html], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
        return "Report opened", f"{html} (also {md})" if md in there else html
    return "The report", "\n".join(there)
