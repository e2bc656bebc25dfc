"""Modal questions: trust a host key, a passphrase, an error with its fix, a yes/no."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class _Modal(ModalScreen):
    BINDINGS = [Binding("escape", "refuse", "Cancel")]

    def frame(self, title: str, body: str, *buttons: Button, extra=()) -> ComposeResult:
        with Vertical(classes="modal"):
            yield Static(f"[b]{escape(title)}[/b]", classes="modal-title")
            yield Static(body, classes="modal-body")
            yield from extra
            with Horizontal(classes="modal-buttons"):
                yield from buttons

    def action_refuse(self) -> None:
        self.dismiss(None)


class ConfirmModal(_Modal):
    """Yes/no; dismisses True or False."""

    def __init__(self, title: str, body: str, yes: str = "Yes", no: str = "No"):
        super().__init__()
        self.title_, self.body, self.yes, self.no = title, body, yes, no

    def compose(self) -> ComposeResult:
        yield from self.frame(self.title_, self.body,
                              Button(self.no, id="no"), Button(self.yes, id="yes",
                                                               variant="warning"))

    def on_mount(self) -> None:
        self.query_one("#no").focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_refuse(self) -> None:
        self.dismiss(False)


class HostKeyModal(ConfirmModal):
    """An unknown host key: show what to compare, write known_hosts only on an explicit yes."""

    def __init__(self, role: str, host: str, key_type: str, fingerprint: str, known_hosts: str):
        body = (f"The {role} server [b]{escape(host)}[/b] presented a host key that is not in "
                f"{escape(known_hosts)}:\n\n"
                f"    {escape(key_type)}  [b]{escape(fingerprint)}[/b]\n\n"
                "Compare it with the key on the server itself (on its console: "
                "[i]ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub[/i]). Trust it only if "
                "they match: a different key can mean someone is in the middle.")
        super().__init__(f"Unknown host key: {role}", body, yes="Trust and connect",
                         no="Refuse")


class ErrorModal(_Modal):
    def __init__(self, message: str, fix: str | None):
        super().__init__()
        self.message, self.fix = message, fix

    def compose(self) -> ComposeResult:
        body = escape(self.message)
        if self.fix:
            body += f"\n\n[b]How to fix it:[/b] {escape(self.fix)}"
        yield from self.frame("Something needs your attention", body,
                              Button("OK", id="ok", variant="primary"))

    def on_mount(self) -> None:
        self.query_one("#ok").focus()

    @on(Button.Pressed)
    def _ok(self) -> None:
        self.dismiss(None)


class SecretModal(_Modal):
    """Asks for a passphrase or password; the answer is handed back, never stored."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        kind, _, subject = self.what.partition(" for ")
        yield from self.frame(f"{kind.capitalize()} needed",
                              f"Enter the {escape(kind)} for [b]{escape(subject)}[/b]. It is "
                              "used for this connection only and never saved or recorded.",
                              Button("Cancel", id="cancel"),
                              Button("OK", id="ok", variant="primary"),
                              extra=[Input(password=True, id="secret")])

    def on_mount(self) -> None:
        self.query_one("#secret").focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.dismiss(self.query_one("#secret", Input).value)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class SaveModal(_Modal):
    """Where to save the current answers (TOML, for `deploy` and `check`)."""

    def __init__(self, default: str):
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        yield from self.frame("Save the answers",
                              "The answers file pre-fills the wizard next time, and drives "
                              "`dhcp-wizard check` and `dhcp-wizard deploy`.",
                              Button("Cancel", id="cancel"),
                              Button("Save", id="save", variant="primary"),
                              extra=[Input(self.default, id="path")])

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.dismiss(self.query_one("#path", Input).value.strip() or None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class ChoiceModal(_Modal):
    """Several named choices; dismisses the chosen key (None on Esc). The first is focused."""

    def __init__(self, title: str, body: str, choices: dict[str, str]):
        super().__init__()
        self.title_, self.body, self.choices = title, body, choices

    def compose(self) -> ComposeResult:
        yield from self.frame(self.title_, escape(self.body),
                              *(Button(label, id=f"choice-{key}",
                                       variant="primary" if i == 0 else "default")
                                for i, (key, label) in enumerate(self.choices.items())))

    def on_mount(self) -> None:
        self.query("Button").first().focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id.removeprefix("choice-"))
