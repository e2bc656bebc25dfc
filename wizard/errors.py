"""Errors the user can act on. Each carries what went wrong and how to fix it."""

from __future__ import annotations


class WizardError(Exception):
    """A problem reported to the user as a message, never as a traceback.

    exit_code follows cli.md: 2 for bad input, 1 for a failed check or operation.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None, *, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def render(self) -> str:
        text = f"error: {self.message}"
        if self.hint:
            text += "\n  fix: " + self.hint.replace("\n", "\n       ")
        return text


class InputError(WizardError):
    """Bad input: answers file, flags, local files. Exit 2."""

    exit_code = 2


# A bug of the wizard's own: neither bad input (2) nor a failed check (1), so that a script
# never takes a crash for a verdict on the servers. 70 is EX_SOFTWARE of sysexits.h.
INTERNAL_ERROR_EXIT = 70


class OperationFailed(WizardError):
    """A check, deployment or drill that ran and failed. Exit 1."""

    exit_code = 1


class NotAvailable(WizardError):
    """A command that exists in the contract but is not built yet. Exit 2, never a fake success."""

    exit_code = 2
