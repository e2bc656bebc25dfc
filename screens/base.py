"""The frame every step screen shares: step indicator, help, gate (why Next is blocked),
Back/Next, and the one way blocking work is run (a thread worker that posts messages)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Header, Static

from screens.widgets import HelpPanel, StepIndicator, guide, results_markup
from wizard.errors import WizardError
from wizard.flow import steps
from wizard.interrupt import CancelToken


@dataclass(frozen=True)
class StepResult:
    """What a step screen hands back when it is left: where to go and the new state."""

    direction: str            # "next" or "back"
    state: steps.WizardState


T = TypeVar("T")


class WorkDone(Message, Generic[T]):
    """A worker's value, delivered on the UI thread to the callback that asked for it."""

    def __init__(self, name: str, value: T, done: Callable[[T], None]):
        super().__init__()
        self.name, self.value, self.done = name, value, done


class WorkFailed(Message):
    """A worker's error; `failed` returns True when it has shown the error itself."""

    def __init__(self, name: str, error: BaseException,
                 failed: Callable[[BaseException], bool] | None):
        super().__init__()
        self.name, self.error, self.failed = name, error, failed


class Progress(Message):
    def __init__(self, role: str, step: str, text: str):
        super().__init__()
        self.role, self.step, self.text = role, step, text


class StepScreen(Screen[StepResult]):
    STEP = "welcome"
    INTRO = ""
    NEXT_LABEL = "Next"
    BINDINGS = [
        Binding("ctrl+n", "next", "Next"),
        Binding("ctrl+b", "back", "Back"),
        Binding("f1", "toggle_help", "Help"),
        Binding("escape", "cancel_work", "Cancel", show=False),
    ]

    def __init__(self, state: steps.WizardState, **kw):
        super().__init__(**kw)
        self.state = state
        self.running: str | None = None
        self.token = CancelToken()

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        step = steps.step(self.STEP) if self.STEP in steps.STEP_IDS else None
        yield Header()
        with Horizontal(id="frame"):
            yield StepIndicator(self.STEP, id="indicator")
            with Vertical(id="content"):
                title = step.label if step and step.guide else self.title_text()
                yield Static(f"[b]{escape(title)}[/b]", id="step-title")
                if self.INTRO:
                    yield Static(self.INTRO, id="step-intro")
                with VerticalScroll(id="body"):
                    yield from self.compose_body()
                    yield Static("", id="step-checks")
                yield Static("", id="busy")
                yield Static("", id="gate")
                yield Checkbox("I have read the warnings above and want to go on anyway "
                               "(recorded in the session)", id="override")
                with Horizontal(id="nav"):
                    yield Button("◀ Back", id="back")
                    yield Static("", id="back-why")
                    yield Button(self.NEXT_LABEL + " ▶", id="next", variant="primary")
            yield HelpPanel(self.STEP, id="help")
        yield Footer()

    def title_text(self) -> str:
        return guide().get(self.STEP, {}).get("title", self.STEP.title())

    def compose_body(self) -> ComposeResult:
        yield from ()

    # Check ids this screen shows in a layout of its own; the step's other results (the
    # registry says which step each belongs to) are listed under the body, so no result
    # the gate counts is ever off-screen.
    SHOWS: tuple[str, ...] = ()

    def show_step_checks(self) -> None:
        rest = [r for r in self.state.results(self.STEP) if r.id not in self.SHOWS]
        box = self.query_one("#step-checks", Static)
        box.update(results_markup(rest) if rest else "")
        box.display = bool(rest)

    def on_mount(self) -> None:
        self.query_one("#help").display = self.app.show_help
        self.query_one("#busy").display = False
        self.refresh_gate()

    # -- the gate --------------------------------------------------------------------------
    def set_state(self, state: steps.WizardState) -> None:
        self.state = state
        self.refresh_gate()

    def refresh_gate(self) -> None:
        self.show_step_checks()
        g = steps.gate(self.STEP, self.state)
        overridden = not g.unaccepted(self.state.overrides)
        lines = []
        if self.running:
            lines.append("[b]Next is blocked[/b] while this step is working.")
        elif g.reasons:
            lines.append("[b]Next is blocked until:[/b]")
            lines += [f"  [red]✘[/] {escape(r)}" for r in g.reasons]
        if g.warnings:
            lines.append("[b]Warnings:[/b]")
            lines += [f"  [yellow]▲[/] {escape(w.text)}" for w in g.warnings]
        gate_w = self.query_one("#gate", Static)
        gate_w.update("\n".join(lines))
        gate_w.display = bool(lines)
        box = self.query_one("#override", Checkbox)
        box.display = bool(g.warnings) and not g.reasons and not self.running
        with box.prevent(Checkbox.Changed):
            box.value = overridden
        self.query_one("#next", Button).disabled = bool(self.running) or \
            not g.open(self.state.overrides)
        why_back = steps.back_blocked(self.STEP, self.state) if self.STEP in steps.STEP_IDS \
            else None
        if self.running:
            why_back = why_back or None
        self.query_one("#back", Button).disabled = bool(why_back) or \
            self.running in ("apply", "revert")
        self.query_one("#back-why", Static).update(
            f"[dim]{escape(why_back)}[/]" if why_back and self.STEP != "welcome" else "")

    @on(Checkbox.Changed, "#override")
    def _override(self, event: Checkbox.Changed) -> None:
        keys = steps.gate(self.STEP, self.state).keys
        overrides = set(self.state.overrides)
        overrides = overrides | set(keys) if event.value else overrides - set(keys)
        self.set_state(self.state.with_(overrides=frozenset(overrides)))

    # -- navigation ------------------------------------------------------------------------
    @on(Button.Pressed, "#next")
    def action_next(self) -> None:
        if self.query_one("#next", Button).disabled:
            self.app.bell()
            return
        self.state = self.before_next(self.state)
        self.app.engine.record_acceptance(self.STEP, steps.gate(self.STEP, self.state),
                                          self.state.overrides)
        self.dismiss(StepResult("next", self.state))

    def before_next(self, state: steps.WizardState) -> steps.WizardState:
        return state

    @on(Button.Pressed, "#back")
    def action_back(self) -> None:
        if self.query_one("#back", Button).disabled:
            self.app.bell()
            return
        if self.running:
            self.token.cancel("cancelled: the operator went back")
        self.dismiss(StepResult("back", self.state))

    def action_toggle_help(self) -> None:
        self.app.show_help = not self.app.show_help
        self.query_one("#help").display = self.app.show_help

    def action_cancel_work(self) -> None:
        if self.running:
            self.token.cancel("cancelled by the operator (Esc)")
            self.notify("cancelling…")

    # -- blocking work ---------------------------------------------------------------------
    def run_work(self, name: str, label: str, fn: Callable[..., T], *args: Any,
                 done: Callable[[T], None],
                 failed: Callable[[BaseException], bool] | None = None) -> None:
        """Run fn(*args) in a thread; its value arrives on the UI thread as done(value), an
        error as failed(error) (or the error modal when failed is None or returns False)."""
        # A token per operation: cancelling one never touches another, and a new worker
        # cannot un-cancel an old one still winding down.
        self.token = CancelToken()
        self.app.engine.cancel = self.token
        self.running = name
        busy = self.query_one("#busy", Static)
        busy.update(f"[cyan]⏳ {escape(label)}[/]  [dim](Esc cancels)[/]")
        busy.display = True
        self.refresh_gate()
        self._worker(name, fn, args, done, failed)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _worker(self, name: str, fn: Callable, args: tuple, done, failed) -> None:
        try:
            value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - shown in a modal, never a traceback
            self.post_message(WorkFailed(name, exc, failed))
            return
        self.post_message(WorkDone(name, value, done))

    def progress_sink(self, role: str, step: str, text: str) -> None:
        """Engine progress callback; runs on a worker thread."""
        self.post_message(Progress(role, step, text))

    def _finish(self) -> None:
        self.running = None
        self.query_one("#busy", Static).display = False

    def on_work_done(self, message: WorkDone) -> None:
        self._finish()
        message.done(message.value)
        self.refresh_gate()

    def on_work_failed(self, message: WorkFailed) -> None:
        self._finish()
        if message.failed is None or not message.failed(message.error):
            self.app.show_error(message.error)
        self.refresh_gate()


def error_text(error: BaseException) -> tuple[str, str | None]:
    """(message, fix) of any error, in words for the user."""
    if isinstance(error, WizardError):
        return error.message, error.hint
    return (f"internal error: {type(error).__name__}: {error}",
            "this is a bug in dhcp-wizard; the session record has what was done so far")
