"""Whether the operator may go on: one decision for the wizard's Next and for `deploy`.

A Gate holds *reasons* (hard blocks: fix them first) and *warnings* (the operator may go on,
but only by accepting each one by its key, which is recorded in the session). Check results
are judged by the rules of wizard.checks.registry; a step's own rules (wizard.flow.steps) add
reasons and warnings of their own, with keys of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from wizard.checks.registry import ACCEPT, BLOCK, spec


@dataclass(frozen=True)
class Warning:
    key: str                 # a check id, or a step rule's own key
    text: str
    host: str | None = None
    fix: str | None = None


@dataclass(frozen=True)
class Gate:
    reasons: tuple[str, ...] = ()
    warnings: tuple[Warning, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w.key for w in self.warnings))

    def unaccepted(self, accepted: Iterable[str] = ()) -> tuple[Warning, ...]:
        accepted = set(accepted)
        return tuple(w for w in self.warnings if w.key not in accepted)

    def open(self, accepted: Iterable[str] = ()) -> bool:
        return not self.reasons and not self.unaccepted(accepted)

    def __add__(self, other: "Gate") -> "Gate":
        return Gate(self.reasons + other.reasons, self.warnings + other.warnings)


def judge(results: Iterable, step: str | None = None) -> Gate:
    """The gate that check results make, for one step's checks or (step None) for all."""
    reasons: list[str] = []
    warnings: list[Warning] = []
    for r in results:
        rule = spec(r.id)
        if step is not None and rule.step != step:
            continue
        if (r.status == "fail" and rule.fail == BLOCK) or (
                r.status == "skip" and rule.skip == BLOCK):
            reasons.append(r.detail)
        elif r.status == "warn" and rule.warn == ACCEPT:
            warnings.append(Warning(r.id, r.detail, r.host, r.fix))
    return Gate(tuple(reasons), tuple(warnings))


def acceptance_hint(gate: Gate, accepted: Iterable[str] = ()) -> str:
    """How `deploy` accepts what is still unaccepted: the flag, ready to paste."""
    keys = tuple(dict.fromkeys(w.key for w in gate.unaccepted(accepted)))
    return f"--accept {','.join(keys)}" if keys else ""


def record_acceptance(session, step: str, gate: Gate, accepted: Iterable[str]) -> None:
    """The warnings the operator went past, by key, in the session: the same event for the
    wizard's tick box and for `deploy --accept`."""
    accepted = set(accepted)
    taken = [w for w in gate.warnings if w.key in accepted]
    if taken and session is not None:
        session.event(step, "override", accepted=list(dict.fromkeys(w.key for w in taken)),
                      warnings=[w.text for w in taken])
