"""Steps 6-7: both new configs as diffs side by side, the OMAPI key, explicit confirmation."""

from __future__ import annotations

import re

from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Static

from screens.base import StepScreen
from wizard.roles import ROLES

# A checkbox label does not wrap: the consequences go in a paragraph above it.
CONSEQUENCES = ("Applying restarts both servers. If anything fails, or you cancel, both are "
                "rolled back to the configuration they run now.")
CONFIRM = "I have reviewed both changes: apply them now"
UNCHANGED = ("Both servers already run this configuration: applying writes nothing and "
             "restarts nothing, it only checks over OMAPI that both peers are normal.")
CONFIRM_UNCHANGED = "I have reviewed the plan: check both servers now"

# -- the diffs ---------------------------------------------------------------------------

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_STYLES = {"+": Style(color="green"), "-": Style(color="red"), " ": Style(),
           "@": Style(color="cyan"), "file": Style(bold=True), "\\": Style(dim=True)}


def diff_rows(diff: str):
    """(kind, text) for each line of a unified diff: kind is +, -, space (context), @ (hunk
    header), \\ (no newline at end) or file. The hunk headers' counts say where a hunk ends,
    so a removed line that reads `-- x` is never taken for a file header."""
    old = new = 0
    for line in diff.splitlines():
        if old > 0 or new > 0:
            kind = line[:1] if line[:1] in "+- \\" else " "
            old -= kind in " -"
            new -= kind in " +"
            yield kind, line[1:] if kind != "\\" else line
            continue
        m = _HUNK.match(line)
        if m:
            old, new = (int(n) if n is not None else 1 for n in m.groups())
            yield "@", line
        elif line.startswith("\\"):
            yield "\\", line
        else:
            yield "file", line


def _wrapped(console, line: str, style: Style, room: int) -> list[Text]:
    """line in rows of at most room cells; the rows after the first hang under the line's
    own indentation (plus two) while that leaves a useful width."""
    first, *more = Text(line, style=style).wrap(console, room, overflow="fold") or [Text()]
    if not more:
        return [first]
    indent = len(line) - len(line.lstrip(" "))
    hang = indent + 2 if room - indent - 2 >= 16 else 0
    rest = Text(line[len(first.plain):].lstrip(" "), style=style)
    return [first, *(Text(" " * hang) + r for r in rest.wrap(console, room - hang,
                                                           overflow="fold"))]


class DiffLines:
    """A unified diff that wraps to whatever width it is drawn at and repeats each line's
    +/- marker on every row the line wraps to: with a plain wrap, the second row of a long
    added line would read as context."""

    def __init__(self, diff: str):
        self.rows = list(diff_rows(diff))

    def __rich_console__(self, console, options):
        width = max(8, options.max_width)
        for kind, text in self.rows:
            style = _STYLES[kind]
            marked = kind in "+- "
            room = width - 1 if marked else width
            for row in _wrapped(console, text.expandtabs(4), style, room):
                if marked:
                    yield Segment(kind, style)
                yield from row.render(console)
                yield Segment.line()

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement

        return Measurement(8, options.max_width)


# -- what changes, in words --------------------------------------------------------------

def what_changes(plan) -> list[str]:
    """One sentence per change that matters to a reviewer, per server: the failover peer
    block added or each setting in it that changes, the pools that join, OMAPI. The plan's
    own notes only cover the unusual edits (a range wrapped in a pool, a repeat dropped), so
    a change that is only a setting inside an existing peer block would otherwise go
    unmentioned."""
    out: list[str] = []
    for role in ROLES:
        files = [f for f in plan.files if f.role == role]
        if not any(f.changed for f in files):
            continue
        try:
            found = _model_changes(files)
        except Exception:  # noqa: BLE001 - a summary must not hide the diff it summarises
            found = []
        if not found:
            n = sum(1 for f in files for kind, _ in diff_rows(f.diff()) if kind in "+-")
            found = [f"{n} changed lines in {', '.join(f.path for f in files if f.changed)} "
                     "(see the diff)"]
        out += [f"{role}: {x}" for x in found]
    return out + list(plan.notes)


class _Unreadable:
    """Reads nothing: every file the plan touches is in hand, and a path missing from it
    must not be read from this machine's disk (the servers' files share its paths)."""

    def read(self, path: str) -> str:
        raise OSError(f"{path} is not part of the plan")

    def resolve(self, path: str, including: str | None = None) -> str:
        return path


def _model_changes(files) -> list[str]:
    from wizard.conf.loader import MemoryLoader
    from wizard.conf.model import load

    main = files[0].path
    before = load(main, MemoryLoader({f.path: f.before for f in files}, _Unreadable()))
    after = load(main, MemoryLoader({f.path: f.after for f in files}, _Unreadable()))
    out: list[str] = []
    for name, peer in after.peers.items():
        old = before.peers.get(name)
        if old is None:
            shown = ", ".join(f"{k} {peer.value(k)}" if k != "role" else peer.value(k)
                              for k in ("role", "mclt", "split", "hba") if k in peer.settings)
            out.append(f'adds failover peer "{name}" ({shown})')
            continue
        for key in dict.fromkeys([*old.settings, *peer.settings]):
            a, b = old.value(key), peer.value(key)
            if a == b:
                continue
            what = (f"{key} {a} → {b}" if a is not None and b is not None
                    else f"sets {key} {b}" if b is not None else f"removes {key} {a}")
            out.append(f'failover peer "{name}": {what}')
    # A pool is matched to its old self by its first range: the plan never moves a range.
    was = {p.ranges[0].lo: p.peer for p in before.pools if p.ranges}
    joined = [p for p in after.pools
              if p.peer and (not p.ranges or was.get(p.ranges[0].lo) != p.peer)]
    for name in dict.fromkeys(p.peer for p in joined):
        where = list(dict.fromkeys(_pool_place(p) for p in joined if p.peer == name))
        count = sum(1 for p in joined if p.peer == name)
        pools = "1 pool joins" if count == 1 else f"{count} pools join"
        shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
        out.append(f'{pools} failover peer "{name}" (in {shown})')
    port, key = _words(after.omapi_port), _words(after.omapi_key)
    old_port, old_key = _words(before.omapi_port), _words(before.omapi_key)
    if port and not old_port:
        out.append(f"enables OMAPI on port {port[-1]}" + (f" with key {key[-1]}" if key else ""))
    else:
        if port != old_port and port:
            out.append(f"OMAPI port {old_port[-1]} → {port[-1]}")
        if key != old_key and key:
            out.append(f"OMAPI key {old_key[-1] if old_key else '(none)'} → {key[-1]}")
    return out


def _pool_place(pool) -> str:
    if pool.subnet is not None:
        return str(pool.subnet.cidr)
    return f"shared-network {pool.shared.name}" if pool.shared is not None else "?"


def _words(where) -> list[str]:
    return [w.strip('"') for w in where.node.words] if where is not None else []


def plan_with_summary(engine, answers):
    """The plan and what_changes of it, both off the UI thread: the summary parses both
    servers' configs again, which takes a moment on a campus-sized file."""
    plan = engine.plan(answers)
    return plan, what_changes(plan)


# -- the screen --------------------------------------------------------------------------

class ReviewScreen(StepScreen):
    STEP = "review"
    NEXT_LABEL = "Apply"
    INTRO = ("Nothing has changed on the servers yet. Below is exactly what step 8 writes: the "
             "failover peer blocks (mclt and split on the primary only), the pool references "
             "and OMAPI with its key.")
    BINDINGS = [Binding("ctrl+k", "reveal", "Show/hide key")]

    def compose_body(self) -> ComposeResult:
        yield Static("", id="notes")
        with Horizontal(classes="columns diffs"):
            for role in ROLES:
                with VerticalScroll(classes="diff"):
                    yield Static(f"[b]{role.title()}[/b]", id=f"{role}-title")
                    yield Static("[dim]planning…[/dim]", id=f"{role}-diff")
        with Horizontal(id="key-row"):
            yield Static("", id="key")
            yield Button("Reveal key (Ctrl+K)", id="reveal", compact=True)
        yield Static(CONSEQUENCES, id="consequences")
        yield Checkbox(CONFIRM, id="confirm", disabled=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.revealed = False
        self.plan = None
        self.set_state(self.state.with_(plan_ready=False, plan_confirmed=False))
        self.run_work("plan", "computing both new configurations…", plan_with_summary,
                      self.app.engine, self.state.answers, done=self.done_plan,
                      failed=self.failed_plan)

    def done_plan(self, planned) -> None:
        plan, changes = planned
        self.plan = plan
        if plan.changed:
            notes = "\n".join(f"  • {escape(n)}" for n in changes)
        else:
            notes = f"  • {escape(UNCHANGED)}" + "".join(f"\n  • {escape(n)}" for n in changes)
            self.query_one("#consequences", Static).display = False
            self.query_one("#confirm", Checkbox).label = CONFIRM_UNCHANGED
        self.query_one("#notes", Static).update("[b]What changes[/b]\n" + notes)
        for role in ROLES:
            files = [f for f in plan.files if f.role == role and f.changed]
            title = ", ".join(f.path for f in files) or "no change"
            self.query_one(f"#{role}-title", Static).update(
                f"[b]{role.title()}[/b]  [dim]{escape(title)}[/dim]")
            text = "\n".join(self.app.engine.mask(f.diff()) for f in files)
            self.query_one(f"#{role}-diff", Static).update(
                DiffLines(text) if text else "[dim]unchanged[/dim]")
        self.show_key()
        self.query_one("#confirm", Checkbox).disabled = False
        self.set_state(self.state.with_(plan_ready=True))

    def show_key(self) -> None:
        if self.plan is None:
            return
        shown = self.plan.secret if self.revealed else "•" * 24
        self.query_one("#key", Static).update(
            f"[b]OMAPI key[/b] {escape(self.state.answers.omapi.key_name)} (hmac-md5): "
            f"{escape(shown)}\n[dim]{escape(self.plan.secret_origin)}[/dim]")
        self.query_one("#reveal", Button).label = ("Hide key (Ctrl+K)" if self.revealed
                                                    else "Reveal key (Ctrl+K)")

    @on(Button.Pressed, "#reveal")
    def action_reveal(self) -> None:
        self.revealed = not self.revealed
        self.show_key()

    @on(Checkbox.Changed, "#confirm")
    def _confirm(self, event: Checkbox.Changed) -> None:
        self.set_state(self.state.with_(plan_confirmed=event.value))

    def failed_plan(self, error) -> bool:
        self.query_one("#notes", Static).update(
            "[red]✘ The plan could not be computed.[/] Go back and fix what the message says.")
        return False

    def before_next(self, state):
        self.app.engine.record("review", "confirmed", changed=bool(self.plan and self.plan.changed))
        # A new confirmation starts a new apply (after a rolled-back one, too).
        return state.with_(apply_started=False, apply_ok=None, apply_reason="",
                           rolled_back=False)
