"""Step 5: the failover peer settings, defaults filled in, each field checked as you type."""

from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from screens.base import StepScreen
from wizard.flow.steps import MODES, SETTING_FIELDS, apply_settings, mode_of

LABELS = {
    "name": ("Relationship name", "The same on both servers; every shared pool refers to it."),
    "primary_address": ("Primary's address", "Where the secondary reaches the primary. Blank: "
                        "the address SSH reached ({primary})."),
    "secondary_address": ("Secondary's address", "Where the primary reaches the secondary. "
                          "Blank: the address SSH reached ({secondary})."),
    "primary_port": ("Primary's failover port", "TCP port the primary listens on (647 is the "
                     "IANA port; the guide's 519/520 are only examples)."),
    "secondary_port": ("Secondary's failover port", "TCP port the secondary listens on."),
    "mclt": ("MCLT, s (primary only)", "Maximum Client Lead Time: how far one server may "
             "extend a lease beyond what its partner knows, and how long a returning server "
             "waits before serving. Written on the primary only; dhcpd ignores it on the "
             "secondary. ISC's example: 3600."),
    "split": ("Split, 0–256 (primary only)", "Share of clients the primary answers in normal "
              "operation. Written on the primary only: dhcpd refuses it on the secondary."),
    "hba": ("hba, 32 bytes (primary only)", "Hash bucket assignment: each bit a share of "
            "the clients; a set bit means the primary answers them. 32 hex bytes separated by "
            "':'. Written on the primary only, instead of split."),
    "max_response_delay": ("Max response delay, s", "Silence after which a server believes "
                           "its partner is gone (communications-interrupted)."),
    "max_unacked_updates": ("Max unacked updates", "Lease updates sent before waiting for "
                            "the partner to acknowledge them."),
    "load_balance_max_seconds": ("Load balance max seconds", "A client that has been trying "
                                 "longer than this is answered by either server. 3 or 5 is "
                                 "usual; 0 makes both answer every client."),
}
MODE_LABELS = {"load-balance": "Load balancing: both servers answer, half the clients each "
                               "(split 128)",
               "hot-standby": "Hot standby: the primary answers everyone, the secondary waits "
                              "(split 256)",
               "custom": "Custom split",
               "hba": "Custom hash bucket bitmap (hba, advanced)"}


class SettingsScreen(StepScreen):
    STEP = "settings"
    INTRO = ("These go into the `failover peer` blocks of both configs. The defaults follow "
             "ISC's recommendations; settings marked (primary only) are written on the "
             "primary alone, as the guide requires.")

    def compose_body(self) -> ComposeResult:
        fo = self.state.answers.failover
        ssh = {r: (self.state.hosts[r].address if r in self.state.hosts
                   else self.state.answers.host(r).host) for r in ("primary", "secondary")}
        self.mode = mode = mode_of(fo.split, fo.hba)
        for key in SETTING_FIELDS:
            label, help_text = LABELS[key]
            if key == "split":
                yield Static("How the two servers share the clients", classes="section")
                with RadioSet(id="mode"):
                    for m, text in MODE_LABELS.items():
                        yield RadioButton(text, m == mode, name=m)
            value = getattr(fo, key)
            with Horizontal(classes="field-row"):
                yield Label(label)
                yield Input("" if value is None else str(value), id=f"f-{key}",
                            placeholder=ssh[key.split("_")[0]] if key.endswith("_address")
                            else "",
                            disabled=_locked(key, mode), compact=True)
            yield Static("", id=f"e-{key}", classes="field-error")
            yield Static(escape(help_text.format(**ssh)), classes="field-help")

    def on_mount(self) -> None:
        super().on_mount()
        self.validate()

    def values(self) -> dict[str, str]:
        out = {k: self.query_one(f"#f-{k}", Input).value for k in SETTING_FIELDS}
        del out["split" if self.mode == "hba" else "hba"]  # dhcpd takes one of the two
        return out

    def validate(self) -> None:
        answers, errors = apply_settings(self.state.answers, self.values())
        for key in SETTING_FIELDS:
            error = self.query_one(f"#e-{key}", Static)
            error.update(f"✘ {escape(errors[key])}" if key in errors else "")
            error.display = key in errors
        self.set_state(self.state.with_(answers=answers, settings_errors=errors))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if (event.input.id or "").startswith("f-"):
            self.validate()

    @on(RadioSet.Changed, "#mode")
    def _mode(self, event: RadioSet.Changed) -> None:
        self.mode = mode = event.pressed.name
        for key in ("split", "hba"):
            self.query_one(f"#f-{key}", Input).disabled = _locked(key, mode)
        split = self.query_one("#f-split", Input)
        if mode in MODES:
            split.value = str(MODES[mode])
        elif mode == "custom":
            split.value = split.value or "128"
            split.focus()
        else:
            self.query_one("#f-hba", Input).focus()
        self.validate()


def _locked(key: str, mode: str) -> bool:
    """split is typed only in custom mode, hba only in hba mode."""
    return (key == "split" and mode != "custom") or (key == "hba" and mode != "hba")
