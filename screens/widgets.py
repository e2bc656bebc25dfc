"""Small widgets shared by the step screens."""

from __future__ import annotations

from functools import lru_cache

from rich.markup import escape
from rich.text import Text
from textual.widgets import Static

from assets import asset_path
from wizard.flow.steps import STEP_IDS, STEPS
from wizard.ops.omapi import EXPLAIN

MARKS = {"pass": ("✔", "green"), "warn": ("▲", "yellow"), "fail": ("✘", "red"),
         "skip": ("–", "grey50"), "run": ("…", "cyan")}


@lru_cache(maxsize=1)
def guide() -> dict:
    import tomllib

    with open(asset_path("guide.toml"), "rb") as fh:
        return tomllib.load(fh)


class StepIndicator(Static):
    """All steps of the guide, with the current one marked; always visible."""

    def __init__(self, current: str, **kw):
        super().__init__(**kw)
        self.current = current

    def render(self) -> Text:
        text = Text()
        here = STEP_IDS.index(self.current) if self.current in STEP_IDS else -1
        # Too narrow for the titles (a small terminal): the numbers alone, the current step's
        # title is the content's heading anyway.
        short = self.content_size.width and self.content_size.width < 20
        for i, step in enumerate(STEPS):
            label = step.short if short else step.label
            if i < here:
                text.append(" ✔ ", style="green")
                text.append(label + "\n", style="")
            elif i == here:
                text.append(" ▶ ", style="bold reverse")
                text.append(label + "\n", style="bold reverse")
            else:
                text.append("   " + label + "\n", style="dim")
        return text


class HelpPanel(Static):
    """The guide's own words for this step, then what the wizard does about it."""

    def __init__(self, step_id: str, **kw):
        super().__init__(**kw)
        self.step_id = step_id

    def render(self) -> Text:
        entry = guide().get(self.step_id, {})
        text = Text()
        text.append("From ISC's guide\n", style="bold")
        text.append(entry.get("guide", "").strip() + "\n\n", style="italic")
        text.append("What the wizard does\n", style="bold")
        text.append(entry.get("wizard", "").strip())
        text.append("\n\nF1 hides this panel.", style="dim")
        return text


def result_line(status: str, detail: str, fix: str | None = None, host: str | None = None) -> str:
    """Markup for one check result: mark, detail, and the fix on its own line."""
    mark, colour = MARKS.get(status, ("?", "white"))
    line = f"[{colour}]{mark}[/] {escape(detail)}"
    if fix and status in ("warn", "fail"):
        line += f"\n    [b]fix:[/b] {escape(fix)}"
    return line


def results_markup(results) -> str:
    return "\n".join(result_line(r.status, r.detail, r.fix) for r in results) or \
        "[dim]nothing checked yet[/]"


def state_markup(role: str, state: str, host: str = "") -> str:
    """One peer's failover state for a state panel: green in normal, yellow where the
    other serves alone, red otherwise, with what the state means."""
    colour = "green" if state == "normal" else "yellow" if state in (
        "partner-down", "communications-interrupted") else "red"
    where = f" {escape(host)} " if host else " "
    return (f"[b]{role.title()}[/b]{where} [{colour}]{escape(state)}[/]\n"
            f"[dim]{escape(EXPLAIN.get(state, ''))}[/dim]")
