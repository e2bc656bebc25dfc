"""Step 2: how far apart the two clocks are, how sure the measurement is, what to do."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Button, Static

from screens.base import StepScreen
from screens.widgets import MARKS, results_markup

VERDICTS = {"pass": "The clocks agree well enough for failover.",
            "warn": "Too close to the limit to be sure; fix the time service before going on.",
            "fail": "The clocks are too far apart: failover would misbehave or not start."}


def scale(skew: float, error: float, limit: float, width: int = 50) -> str:
    """A one-line picture of |skew| against the wizard's limit and dhcpd's 60 s."""
    top = 60.0
    pos = min(width - 1, int(abs(skew) / top * width))
    lim = min(width - 1, int(limit / top * width))
    cells = ["─"] * width
    cells[lim] = "┊"
    cells[pos] = "●"
    return (f"0 s [{''.join(cells)}] 60 s\n"
            f"    ● measured {abs(skew):.3f} s (±{error:.3f} s)   ┊ your limit {limit:g} s   "
            "60 s: dhcpd refuses its partner")


class ClockScreen(StepScreen):
    STEP = "clock"
    SHOWS = ("clock-skew", "ntp")
    INTRO = ("dhcpd refuses a partner whose clock is 60 s or more off, and smaller skews make "
             "lease times disagree. The wizard compares both clocks now.")
    BINDINGS = [Binding("ctrl+r", "measure", "Measure again")]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="skew", classes="panel")
        yield Button("Measure again (Ctrl+R)", id="measure", compact=True)
        yield Static("Time service on each server", classes="section")
        yield Static("", id="ntp")

    def on_mount(self) -> None:
        super().on_mount()
        self.show()
        if self.state.skew is None:
            self.action_measure()

    @on(Button.Pressed, "#measure")
    def action_measure(self) -> None:
        self.run_work("measure", "comparing the two clocks…", self.app.engine.measure_clock,
                      self.state.answers, done=self.done_measure)

    def done_measure(self, verdict) -> None:
        self.set_state(self.state.with_(skew=verdict))
        self.show()

    def show(self) -> None:
        v = self.state.skew
        limit = self.state.answers.checks.max_skew_seconds
        checked = [r for r in self.state.results("clock") if r.id == "clock-skew"]
        if v is None and checked:
            text = "[dim]not measured on this step yet; the checks said:[/dim]\n" + \
                results_markup(checked)
        elif v is None:
            text = "[dim]not measured yet[/dim]"
        else:
            mark, colour = MARKS[v.status]
            ahead = "ahead of" if v.skew >= 0 else "behind"
            text = (f"[{colour}]{mark} {VERDICTS[v.status]}[/]\n\n"
                    f"The secondary's clock is [b]{abs(v.skew):.3f} s {ahead}[/b] the "
                    f"primary's, measured to within ±{v.error:.3f} s via "
                    f"{escape(v.method.upper())}.\n\n{scale(v.skew, v.error, limit)}")
            if v.fix and v.status != "pass":
                text += f"\n\n[b]How to fix it:[/b] {escape(v.fix)}"
        self.query_one("#skew", Static).update(text)
        ntp = [r for r in self.state.results("clock") if r.id == "ntp"]
        self.query_one("#ntp", Static).update(results_markup(ntp))
