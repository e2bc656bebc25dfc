"""Every check the wizard runs, in one table: its id, the wizard step whose screen shows it,
and what each outcome means for going on (the gate rule).

The check engine refuses an id that is not here (a bug, reported as such); the wizard's gates
and `deploy` both judge results through wizard.flow.policy with these rules, so the CLI and
the TUI can never disagree about what blocks.

Gate rules: a `fail` blocks, except for a check declared fail=NOTE, whose failure is shown
and fails `check` but does not stop a deployment (the exposure check: who reaches the ports
is the firewall's, which a deployment does not change; `protect firewall` is its fix). A `warn` either needs the operator's explicit, recorded
acceptance (ACCEPT: the TUI's tick box, `deploy --accept ID`) or is shown and never blocks
(NOTE); a check declared with warn=None never warns (the engine refuses it). A `skip` (the
check could not run) is a NOTE, except where not knowing is itself a reason to stop (BLOCK).
"""

from __future__ import annotations

from dataclasses import dataclass

BLOCK, ACCEPT, NOTE = "block", "accept", "note"


@dataclass(frozen=True)
class CheckSpec:
    id: str
    step: str            # a wizard.flow.steps step id: the screen that shows its results
    title: str
    warn: str | None = ACCEPT
    skip: str = NOTE
    fail: str = BLOCK


CHECKS: tuple[CheckSpec, ...] = (
    # Step 1: servers
    CheckSpec("ssh", "servers", "SSH login and host key", warn=None),
    CheckSpec("facts", "servers", "what the host runs (OS, dhcpd, paths, service)", warn=None),
    CheckSpec("dhcpd-version", "servers", "an ISC dhcpd 4.4 is installed"),
    CheckSpec("dhcp-listen", "servers", "dhcpd runs and listens on udp/67"),
    CheckSpec("version-parity", "servers", "both peers run the same dhcpd release"),
    CheckSpec("failover-state", "servers", "the state of a failover relationship already set up"),
    # Deploy waits for, or removes, what earlier runs left: worth knowing, not a reason to stop.
    CheckSpec("leftovers", "servers", "what earlier runs left on the host", warn=NOTE),
    # Checks that were cancelled prove nothing: going on needs them run to the end.
    CheckSpec("cancelled", "servers", "the checks ran to the end", warn=None,
              skip=BLOCK),
    # Step 2: clocks
    CheckSpec("clock-skew", "clock", "the peers' clocks agree"),
    CheckSpec("ntp", "clock", "each peer keeps time with NTP"),
    # Step 3: networks and pools
    CheckSpec("config-lint", "networks", "the two configs agree as a failover pair"),
    # Step 4: relays and firewalls
    CheckSpec("port-failover", "elements", "each peer reaches the other's failover port"),
    CheckSpec("peer-address", "elements", "each peer owns, and sends from, its failover address",
              warn=None),
    CheckSpec("port-omapi", "elements", "this host reaches OMAPI on both peers", warn=None),
    CheckSpec("relay", "elements", "each DHCP relay forwards to both peers"),
    CheckSpec("host-firewall", "elements",
              "each peer's host firewall lets failover and DHCP through"),
    # The path between the failover addresses (wizard/checks/path.py). Shown, never
    # blocking: the remedies (a tunnel, an MTU, a faster link) are outside a deployment.
    CheckSpec("path", "elements", "the failover path: one segment or routed, across "
              "trusted networks", warn=NOTE),
    CheckSpec("path-rtt", "elements", "round-trip time and loss between the peers, against "
              "max-response-delay", warn=NOTE),
    CheckSpec("path-mtu", "elements", "the path MTU between the peers", warn=NOTE),
    # Who else reaches the failover and OMAPI ports (wizard/checks/exposure.py).
    CheckSpec("exposure", "elements", "only the peers reach the failover ports, only admin "
              "hosts OMAPI", warn=NOTE, fail=NOTE),
)
BY_ID = {c.id: c for c in CHECKS}
ORDER = {c.id: i for i, c in enumerate(CHECKS)}


def spec(check_id: str) -> CheckSpec:
    try:
        return BY_ID[check_id]
    except KeyError:
        raise KeyError(f"check id {check_id!r} is not in wizard.checks.registry") from None


def ids_of(step: str) -> tuple[str, ...]:
    return tuple(c.id for c in CHECKS if c.step == step)


def steps_with_checks() -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.step for c in CHECKS))


def acceptable() -> tuple[str, ...]:
    """The ids whose warnings an operator may accept (`deploy --accept`)."""
    return tuple(c.id for c in CHECKS if c.warn == ACCEPT)
