"""Connecting to the pair, with the unknown-host-key question in the middle."""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from wizard.remote.ssh_config import HostKeyChanged, UnknownHostKey


def inspect_pair(engine, answers, on_result):
    """Worker body: connect; stop at unknown host keys; else check everything and inspect."""
    from wizard.errors import OperationFailed

    errors = engine.connect(answers)
    unknown = {r: e for r, e in errors.items()
               if isinstance(e, UnknownHostKey) and not isinstance(e, HostKeyChanged)}
    if unknown:
        return {"unknown": unknown}
    results = engine.check(answers, on_result)
    hosts, problem = {}, None
    if not errors:
        try:
            hosts = engine.inspect(answers)
        except OperationFailed as exc:
            problem = exc
    return {"results": results, "hosts": hosts, "problem": problem}


class HostKeyFlow:
    """For screens that connect: ask about an unknown key, write known_hosts only on yes,
    then connect again (action_inspect). Results are shown in the #checks widget."""

    def trust_needed(self, value: dict) -> bool:
        if "unknown" not in value:
            return False
        role = min(value["unknown"], key=("primary", "secondary").index)
        error = value["unknown"][role]
        self.ask_trust(role, error)
        return True

    def ask_trust(self, role: str, error) -> None:
        from screens.modals import HostKeyModal

        def answer(yes: bool | None) -> None:
            if yes:
                self.run_work("trust", f"adding the {role}'s key to {error.known_hosts}…",
                              self.app.engine.trust, error, done=self.done_trust)
            else:
                self.query_one("#checks", Static).update(
                    f"[red]✘[/] {escape(role)}: host key refused; the wizard cannot connect "
                    f"to it.\n    [b]fix:[/b] {escape(error.hint or '')}")
        self.app.push_screen(HostKeyModal(role, error.host, error.key_type, error.fingerprint,
                                          error.known_hosts), answer)

    def done_trust(self, line: str) -> None:
        self.notify("host key added to known_hosts")
        self.action_inspect()
