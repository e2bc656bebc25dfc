"""Step 9: the live failover test: both peers' states, the lease proof, the timings."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Static

from screens.base import StepScreen
from screens.widgets import state_markup
from wizard.roles import ROLES

STEP_NAMES = {"precondition": "both servers normal before the test",
              "shutdown-primary": "primary shut down; secondary takes over",
              "shutdown-secondary": "secondary shut down; primary takes over",
              "service": "a real client gets an address from the survivor",
              "restarting": "restarting the shut-down server's dhcpd",
              "restart-primary": "primary restarted, still out of service",
              "restart-secondary": "secondary restarted, still out of service",
              "recover-primary": "primary back; both normal again",
              "recover-secondary": "secondary back; both normal again",
              "cancelled": "cancelled: putting the pair back into operation"}


def parse_state(text: str) -> tuple[str, str] | None:
    """'primary: normal -> shutdown: ...' -> ('primary', 'shutdown')."""
    role, _, rest = text.partition(": ")
    if role not in ROLES or " -> " not in rest:
        return None
    return role, rest.split(" -> ", 1)[1].split(":", 1)[0]


class DrillScreen(StepScreen):
    STEP = "drill"
    INTRO = ("The test shuts the primary down gracefully over OMAPI, checks that the "
             "secondary takes over and really serves a client, then restarts the primary and "
             "brings it back (the restart spares it the MCLT wait). Clients keep being served "
             "throughout; it takes seconds, not MCLT.")
    BINDINGS = [Binding("ctrl+r", "start", "Start the test")]

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="columns"):
            for role in ROLES:
                yield Static("", id=f"{role}-state", classes="panel")
        yield Checkbox("Then the same with the secondary (each peer is taken out once)",
                       id="both")
        yield Button("Start the failover test (Ctrl+R)", id="start", variant="primary",
                     compact=True)
        yield Static("Test steps", classes="section")
        yield Static("[dim]not started[/dim]", id="steps")
        yield Static("", id="outcome")

    def on_mount(self) -> None:
        super().on_mount()
        self.states = {r: "normal" if self.state.apply_ok else "unknown" for r in ROLES}
        self.lines: list[str] = []
        self.show_states()

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        if self.running:
            return
        self.lines, self.t0 = [], self.app.engine.now()
        self.query_one("#start").display = False
        roles = ("primary", "secondary") if self.query_one("#both", Checkbox).value \
            else ("primary",)
        self.query_one("#both", Checkbox).disabled = True
        self.app.engine.sink = self.progress_sink
        self.run_work("drill", "failover test running…", self.app.engine.drill,
                      self.state.answers, roles, done=self.done_drill, failed=self.failed_drill)

    def on_progress(self, message) -> None:
        step, text = message.step, message.text
        if step == "state":
            parsed = parse_state(text)
            if parsed:
                self.states[parsed[0]] = parsed[1]
                self.show_states()
            return
        stamp = f"+{self.app.engine.now() - self.t0:5.1f}s"
        ok = text.startswith("ok: ")
        mark = "[green]✔[/]" if ok else "[red]✘[/]" if text.startswith("FAILED") else "[cyan]…[/]"
        label = STEP_NAMES.get(step, step)
        self.lines.append(f"[dim]{stamp}[/dim] {mark} {escape(label)}\n      "
                          f"[dim]{escape(text.removeprefix('ok: '))}[/dim]")
        self.query_one("#steps", Static).update("\n".join(self.lines))

    def show_states(self) -> None:
        for role in ROLES:
            self.query_one(f"#{role}-state", Static).update(state_markup(role, self.states[role]))

    def done_drill(self, result) -> None:
        timings = []
        for s in result.steps:
            for key, value in s.data.items():
                if key.startswith("seconds_"):
                    timings.append(f"{key.removeprefix('seconds_').replace('_', ' ')}: "
                                   f"{value:.1f} s")
        colour, mark = ("green", "✔") if result.passed else ("red", "✘")
        text = f"[{colour}]{mark} {escape(result.summary)}[/]"
        if timings:
            text += "\n[b]Timings:[/b] " + escape("; ".join(timings))
        if not result.service_proven and result.passed:
            text += ("\n[dim]Set [drill] probe in the answers to prove service with a real "
                     "client next time.[/dim]")
        self.query_one("#outcome", Static).update(text)
        self.query_one("#start").display = not result.passed
        self.query_one("#both", Checkbox).disabled = result.passed
        self.set_state(self.state.with_(drill_passed=result.passed,
                                        drill_summary=result.summary))
        if self.app.quit_after_drill:
            self.app.exit(0 if result.passed else 1)

    def failed_drill(self, error) -> bool:
        self.query_one("#start").display = True
        self.query_one("#both", Checkbox).disabled = False
        self.set_state(self.state.with_(drill_passed=False, drill_summary=str(error)))
        if self.app.quit_after_drill:
            self.app.exit(1)
        return False
