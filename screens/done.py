"""Step 10: back in operation: final states, where the record is, what to do next."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from screens.base import StepScreen
from wizard.errors import InputError
from wizard.ops.omapi import EXPLAIN
from wizard.roles import ROLES

NEXT_STEPS = """\
[b]What to do next[/b]
  • Save the answers (Ctrl+S). Before and after every dhcpd or OS upgrade, run
      [b]dhcp-wizard check --answers FILE[/b]
    It changes nothing and tells you if the pair is still healthy.
{omapi}  • Keep both clocks on NTP, and watch for `communications-interrupted` in the logs
    (one server alone for long runs out of free addresses).
  • Change a pool on both servers alike from now on: pools must stay identical.
"""


def omapi_advice(state) -> str:
    """What is left to do about OMAPI, after what the protection step did."""
    if state.firewall_ok:
        return ("  • OMAPI and the failover port are limited by dhcp-wizard's firewall rules "
                "(`nft list table inet dhcp_wizard`); run the protection step or `dhcp-wizard "
                "protect firewall` again when the admin hosts change.\n")
    return (f"  • Limit the OMAPI port ({state.answers.omapi.port}/tcp) to the admin hosts: "
            "OMAPI has no address restriction of its own;\n    `dhcp-wizard protect firewall "
            "--answers FILE` plans the rules and shows them first.\n")


class DoneScreen(StepScreen):
    STEP = "done"
    NEXT_LABEL = "Finish"
    INTRO = "Both servers are back in operation."
    BINDINGS = [Binding("ctrl+r", "read", "Read states again")]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="final", classes="panel")
        yield Static("", id="record")
        yield Static(NEXT_STEPS.format(omapi=omapi_advice(self.state)), id="next-steps")

    def on_mount(self) -> None:
        super().on_mount()
        summary = self.state.drill_summary or "the failover test was skipped"
        self.query_one("#record", Static).update(
            f"[b]Failover test:[/b] {escape(summary)}\n" + self.record_text())
        self.action_read()

    def record_text(self) -> str:
        """Where the evidence is. The report is written now, not only when the session ends:
        whoever reaches this step should be able to open it before pressing Finish."""
        path = self.app.engine.session_path
        if path is None:
            return "[b]Session record:[/b] (none)\n"
        path = str(Path(path).absolute())
        lines = [f"[b]Session record:[/b] {escape(path)}",
                 "  events.jsonl (every step, hash-chained) and artifacts/ (every plan's configs)"]
        try:
            md, html = self.app.engine.session.report()
        except (OSError, InputError) as exc:
            lines.append(f"[red]✘[/] the report could not be written ({escape(str(exc))}); "
                         f"[b]dhcp-wizard report {escape(path)}[/b] writes it later.")
        else:
            lines += [f"[b]Report:[/b] {escape(str(Path(html).absolute()))}",
                      f"        {escape(str(Path(md).absolute()))}",
                      "  written now and again when you press Finish; secrets are masked "
                      "throughout."]
        return "\n".join(lines) + "\n"

    def action_read(self) -> None:
        self.run_work("read", "reading both servers' failover state…", self.app.engine.states,
                      self.state.answers, done=self.done_read)

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
