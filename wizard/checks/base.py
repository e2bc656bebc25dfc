"""What every check shares: its result, the run it reports to, and the guard that turns a
check's crash into that check's failure."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

from wizard.checks.registry import spec
from wizard.errors import WizardError
from wizard.roles import ROLES

STATUSES = ("pass", "warn", "fail", "skip")


@dataclass(frozen=True)
class CheckResult:
    id: str
    host: str | None        # "primary", "secondary", a relay, or None for the pair
    status: str
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict:
        out = asdict(self)
        if out["fix"] is None:
            del out["fix"]
        return out


def ok(results: list[CheckResult]) -> bool:
    return not any(r.status == "fail" for r in results)


class Run:
    """One run of the checks: what they learned so far (facts, configs) and the results."""

    def __init__(self, answers, session, progress, cancel):
        self.answers = answers
        self.session = session
        self.progress = progress
        self.cancel = cancel or threading.Event()
        self.results: list[CheckResult] = []
        self._lock = threading.Lock()
        self.facts: dict = {}
        self.configs: dict = {}
        self.summaries: dict = {}

    def add(self, id: str, host: str | None, status: str, detail: str,
            fix: str | None = None) -> None:
        rule = spec(id)               # an id outside the registry is a bug: no screen shows it
        if status not in STATUSES or (status == "warn" and rule.warn is None):
            raise ValueError(f"check {id}: status {status!r} is not one it may give")
        result = CheckResult(id, host, status, detail, fix)
        with self._lock:
            self.results.append(result)
        if self.session is not None:
            self.session.event("check", "result", host=host, id=id, status=status,
                               detail=detail, fix=fix)
        if self.progress is not None:
            self.progress(result)

    def cancelled(self) -> list[CheckResult]:
        self.add("cancelled", None, "skip", "checks cancelled before they finished")
        return list(self.results)


def guarded(check_id: str):
    """A bug or surprise in one check becomes a failure of that check (the id it declares),
    shown on its step's screen, not a lost run."""
    def wrap(fn):
        def wrapper(run: Run, *args):
            host = args[-1] if args and args[-1] in ROLES else None
            try:
                return fn(run, *args)
            except WizardError as exc:
                run.add(check_id, host, "fail", exc.message, exc.hint)
            except Exception as exc:  # noqa: BLE001 - reported as a result, never a traceback
                run.add(check_id, host, "fail",
                        f"internal error in the {check_id} check ({fn.__name__}): "
                        f"{type(exc).__name__}: {exc}",
                        "this is a bug in dhcp-wizard; please report it with the session "
                        "directory")
        wrapper.__name__ = fn.__name__
        return wrapper
    return wrap
