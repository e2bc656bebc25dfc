"""Step 10: back in operation: final states, where the record is, what to do next."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from screens.base import StepScreen
from wizard.omapi import EXPLAIN
from wizard.steps import ROLES

NEXT_STEPS = """\
[b]What to do next[/b]
  • Save the answers (Ctrl+S). Before and after every dhcpd or OS upgrade, run
      [b]dhcp-wizard check --answers FILE[/b]
    It changes nothing and tells you if the pair is still healthy.
  • Limit the OMAPI port ({port}/tcp) to this admin host in the servers' firewalls:
    OMAPI has no address restriction of its own.
  • Keep both clocks on NTP, and watch for `communications-interrupted` in the logs
    (one server alone for long runs out of free addresses).
  • Change a pool on both servers alike from now on: pools must stay identical.
"""


class DoneScreen(StepScreen):
    STEP = "done"
    NEXT_LABEL = "Finish"
    INTRO = "Both servers are back in operation."
    BINDINGS = [Binding("ctrl+r", "read", "Read states again")]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="final", classes="panel")
        yield Static("", id="record")
        yield Static(NEXT_STEPS.format(port=self.state.answers.omapi.port), id="next-steps")

    def on_mount(self) -> None:
        super().on_mount()
        path = self.app.engine.session_path
        summary = self.state.drill_summary or "the failover test was skipped"
        self.query_one("#record", Static).update(
            f"[b]Failover test:[/b] {escape(summary)}\n"
            f"[b]Session record:[/b] {escape(path or '(none)')}\n"
            "  events.jsonl (every step, hash-chained) and artifacts/ (both configs before "
            "and after); secrets are masked.\n")
        self.action_read()

    def action_read(self) -> None:
        self.run_work("read", "reading both servers' failover state…", self.app.engine.states,
                      self.state.answers)

    def done_read(self, samples: dict) -> None:
        lines = ["[b]Failover state now[/b]"]
        for role in ROLES:
            sample = samples.get(role)
            st = getattr(sample, "state", None)
            if st is None:
                lines.append(f"  [red]✘[/] {role}: {escape(getattr(sample, 'error', '') or '?')}")
                continue
            colour = "green" if st.local_state == "normal" else "yellow"
            lines.append(f"  [{colour}]●[/] {role:<9} [b]{escape(st.local_state)}[/b], "
                         f"partner {escape(st.partner_state)}\n"
                         f"      [dim]{escape(EXPLAIN.get(st.local_state, ''))}[/dim]")
        self.query_one("#final", Static).update("\n".join(lines))
