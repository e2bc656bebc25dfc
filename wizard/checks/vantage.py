"""Vantage points: places the exposure check probes the failover and OMAPI ports from.

Built in (wizard/checks/exposure.py): this host, the drill's probe host over SSH, the relays
over SSH. Others (the built-in lab's client segment) are plugged in by the front end with
register(), as the lab's drill probe is (wizard.ops.lease_probe), so the core never imports
them.
"""

from __future__ import annotations

from typing import Callable, Protocol

# Where a vantage point sits decides what its reaching a port means: a client segment must
# reach neither port; an admin host (this one) needs OMAPI; a relay is infrastructure.
CLIENT, ADMIN, RELAY = "client", "admin", "relay"


class Vantage(Protocol):
    name: str          # how results name it: "this host", "relay 10.0.0.1", ...
    kind: str          # CLIENT, ADMIN or RELAY

    def probe(self, targets: list[tuple[str, int]], timeout: float) -> list[tuple[str, str]]:
        """One (outcome, detail) per target, outcomes as wizard.checks.probes says them;
        raises wizard.errors.OperationFailed when it cannot probe at all."""
        ...

    def source(self) -> str | None:
        """The address its probes came from, once probed (None when unknown)."""
        ...


# finder(answers) -> the vantage points it knows for this pair; filled by register().
FINDERS: dict[str, Callable[..., list[Vantage]]] = {}


def register(name: str, finder: Callable[..., list[Vantage]]) -> None:
    FINDERS[name] = finder


def plugged_in(answers) -> list[Vantage]:
    out: list[Vantage] = []
    for finder in FINDERS.values():
        out.extend(finder(answers))
    return out
