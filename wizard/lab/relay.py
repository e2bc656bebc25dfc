"""The routed lab's relay: which servers its dhcrelay forwards to, and changing that.

`lab relay --only primary` misconfigures it on purpose (the mistake the wizard's relay check
is there to catch: the secondary never sees those clients); `lab relay --both` puts it back.
Either way the change is made as an admin would: SERVERS in the router's
/etc/default/isc-dhcp-relay, then the relay restarted through its init script.
"""

from __future__ import annotations

import shlex
import subprocess
import time

from wizard.errors import InputError
from wizard.lab import namespaces as ns
from wizard.lab.hostfs import host_file, relay_defaults
from wizard.lab.spec import ROLES, LabError, LabSpec


def _defaults(spec: LabSpec):
    return host_file(spec, "router", "/etc/default/isc-dhcp-relay")


def configured_servers(spec: LabSpec) -> list[str]:
    """SERVERS of the router's /etc/default/isc-dhcp-relay (what the relay starts with)."""
    try:
        text = _defaults(spec).read_text()
    except OSError:
        return []
    for line in text.splitlines():
        if line.strip().startswith("SERVERS="):
            return " ".join(shlex.split(line.split("=", 1)[1], comments=True)).split()
    return []


def set_relay(spec: LabSpec, roles: tuple[str, ...]) -> list[str]:
    """Make the relay forward to these servers only; returns their addresses."""
    from wizard.lab.daemons import daemon_pid as _daemon_pid

    if not spec.routed:
        raise InputError(f"the lab {spec.name!r} has no relay (its topology is flat)",
                         f"rebuild it routed: `dhcp-wizard lab up --name {spec.name} "
                         "--topology routed`")
    if not ns.netns_exists(spec.netns("router")):
        raise LabError(f"the lab {spec.name!r} is not up", "run `dhcp-wizard lab up` first")
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise InputError(f"not a lab server: {', '.join(bad) or 'none given'}",
                         "name primary or secondary")
    ns.write_private(_defaults(spec), relay_defaults(spec, roles))
    old = _daemon_pid(spec, "router", "dhcrelay")
    _init(spec, "stop")
    deadline = time.monotonic() + 5
    while old is not None and _daemon_pid(spec, "router", "dhcrelay") == old \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    # The init script's own restart sleeps 2 s between the two; waiting for the old relay
    # to be gone is quicker and as safe.
    _init(spec, "start")
    deadline = time.monotonic() + 5
    while _daemon_pid(spec, "router", "dhcrelay") in (None, old):
        if time.monotonic() > deadline:
            raise LabError("the lab's dhcrelay did not start again",
                           f"see {spec.host_dir('router') / 'var-log' / 'syslog'}")
        time.sleep(0.05)
    return [spec.address(r) for r in roles]


def _init(spec: LabSpec, verb: str) -> None:
    log = spec.host_dir("router") / "lab-daemons.log"
    with open(log, "ab") as fh:
        subprocess.run(ns.host_command(spec, "router", ["service", "isc-dhcp-relay", verb]),
                       stdout=fh, stderr=fh, stdin=subprocess.DEVNULL, env=ns.clean_env(),
                       timeout=20)
