"""Step 1: the two servers. SSH details, then what each runs, side by side."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Static

from screens.base import StepScreen
from screens.hostkeys import HostKeyFlow, inspect_pair
from screens.widgets import results_markup
from wizard.flow import steps
from wizard.roles import ROLES

FIELDS = (("host", "Host"), ("user", "User"), ("port", "SSH port"), ("identity", "Key file"),
          ("config", "Config"), ("restart", "Restart"))
# Config and restart are detected; typing one overrides what was found (a dhcpd started by
# hand, a custom unit), as `config =` / `restart =` do in the answers file.
PLACEHOLDERS = {"host": "address or ~/.ssh/config alias", "user": "from ~/.ssh/config",
                "port": "22", "identity": "agent or default keys",
                "config": "detected from the running dhcpd", "restart": "detected"}


class ServersScreen(HostKeyFlow, StepScreen):
    STEP = "servers"
    SHOWS = steps.STEP_CHECKS["servers"]
    INTRO = ("Which server is the primary and which the secondary? The wizard logs in to both "
             "over SSH (host keys verified) and only reads: nothing is changed in this step.")
    BINDINGS = [Binding("ctrl+r", "inspect", "Inspect")]

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="columns"):
            for role in ROLES:
                host = self.state.answers.host(role)
                with Vertical(classes="host-form"):
                    yield Static(f"[b]{role.title()}[/b]"
                                 + (" [dim](holds mclt and split)[/dim]" if role == "primary"
                                    else ""))
                    for key, label in FIELDS:
                        value = getattr(host, key)
                        with Horizontal(classes="host-row"):
                            yield Label(label)
                            yield Input("" if value is None else str(value), id=f"{role}-{key}",
                                        placeholder=PLACEHOLDERS.get(key, ""), compact=True)
                    yield Checkbox("run dhcpd work through sudo -n", host.sudo,
                                   id=f"{role}-sudo", compact=True)
        yield Button("Connect and inspect both (Ctrl+R)", id="inspect", compact=True)
        with Horizontal(classes="columns"):
            for role in ROLES:
                yield Static(self.host_text(role), id=f"{role}-facts", classes="panel")
        yield Static("", id="checks")

    def on_mount(self) -> None:
        super().on_mount()
        self.show_results()
        a = self.state.answers
        if not self.state.checked and a.primary.host and a.secondary.host:
            self.action_inspect()

    # -- form ------------------------------------------------------------------------------
    @on(Input.Changed)
    def _field(self, event: Input.Changed) -> None:
        role, _, key = (event.input.id or "").partition("-")
        if role not in ROLES:
            return
        text = event.value.strip()
        if key == "port":
            if text and not text.isdigit():
                return
            value = int(text) if text else None
        elif key == "config" and text and not text.startswith("/"):
            value = None  # shown as invalid; until it is a path, the detected one is used
        else:
            value = text or None
        if key == "host":
            value = text
        event.input.set_class(key == "config" and value is None and bool(text), "-invalid")
        if getattr(self.state.answers.host(role), key) == value:
            return
        self.set_state(self.state.with_(answers=self.state.answers.with_changes(role, **{key: value}),
                                        checked=False, checks=(), hosts={}))

    @on(Checkbox.Changed)
    def _sudo(self, event: Checkbox.Changed) -> None:
        role, _, key = (event.checkbox.id or "").partition("-")
        if role in ROLES and key == "sudo":
            self.set_state(self.state.with_(
                answers=self.state.answers.with_changes(role, sudo=event.value),
                checked=False, checks=(), hosts={}))

    # -- work ------------------------------------------------------------------------------
    @on(Button.Pressed, "#inspect")
    def action_inspect(self) -> None:
        a = self.state.answers
        missing = [r for r in ROLES if not a.host(r).host]
        if missing:
            self.notify(f"enter the {' and '.join(missing)} host first", severity="warning")
            return
        self.live: list = []
        self.app.engine.sink = self.progress_sink
        self.run_work("inspect", "connecting to both servers and inspecting them…",
                      inspect_pair, self.app.engine, a, self._one_result,
                      done=self.done_inspect)

    def _one_result(self, result) -> None:
        self.progress_sink(result.host or "pair", result.id, result.status)

    def on_progress(self, message) -> None:
        self.query_one("#checks", Static).update(
            f"[cyan]… {escape(message.role)}: {escape(message.step)} {escape(message.text)}[/]")

    def done_inspect(self, value: dict) -> None:
        if self.trust_needed(value):
            return
        self.set_state(self.state.with_(checks=tuple(value["results"]), checked=True,
                                        hosts=dict(value["hosts"])))
        self.show_results()
        if value["problem"] is not None:
            self.app.show_error(value["problem"])

    # -- display ---------------------------------------------------------------------------
    def show_results(self) -> None:
        for role in ROLES:
            self.query_one(f"#{role}-facts", Static).update(self.host_text(role))
        if self.state.checked:
            self.query_one("#checks", Static).update(results_markup(self.state.results("servers")))

    def host_text(self, role: str):
        from rich.table import Table

        info = self.state.hosts.get(role)
        if info is None:
            return f"[b]{role.title()}[/b]\n[dim]not inspected yet[/dim]"
        f = info.facts
        versions = {getattr(h.facts.dhcpd, "version", None) for h in self.state.hosts.values()}
        colour = "green" if len(versions) == 1 else "red"
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row(role.title(), "")
        grid.add_row("OS", escape(f.os.name or "unknown"))
        grid.add_row("dhcpd", f"[{colour}]{escape(f.dhcpd.version or '?')}[/] "
                     + ("[green](same on both)[/]" if colour == "green" else "[red](differs!)[/]"))
        grid.add_row("config", f"{escape(info.config_path)}\n[dim]found via "
                               f"{escape(info.config_source)}[/]")
        grid.add_row("leases", escape(info.lease_path))
        grid.add_row("service", f"{escape(f.service.manager or '?')}: {escape(info.restart)}")
        return grid
