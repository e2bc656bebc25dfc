"""Build apply transactions on the lab from the conf engine's plan of its live files."""

from __future__ import annotations

import time

from wizard.answers import load_answers
from wizard.ops.transaction import FileChange, HostTarget, Transaction
from wizard.conf.plan import plan_pair
from wizard.lab import lifecycle
from wizard.ops.omapi import read_states
from wizard.remote.ssh import Pair

CONF, LEASES, RESTART = "/etc/dhcp/dhcpd.conf", "/var/lib/dhcp/dhcpd.leases", \
    "service isc-dhcp-server restart"


def fresh(spec):
    """A lab rebuilt from scratch: plain baseline, empty lease files, new keys."""
    lifecycle.down(spec, progress=lambda _m: None)
    lifecycle.up(spec, progress=lambda _m: None)
    return load_answers(spec.answers_path)


def plan(spec, answers):
    return plan_pair(answers, str(spec.host_dir("primary") / "etc-dhcp" / "dhcpd.conf"),
                     str(spec.host_dir("secondary") / "etc-dhcp" / "dhcpd.conf"))


def reader(spec, answers, secret):
    endpoints = {r: (spec.address(r), answers.omapi.port) for r in ("primary", "secondary")}
    return lambda: read_states(endpoints, answers.omapi.key_name, secret, answers.failover.name,
                               timeout=2)


def transaction(spec, answers, the_plan, *, after=None, session=None, normal_timeout=40,
                secret=None, progress=None, reconnect=None):
    pair = Pair(answers, session=session).open()
    assert not pair.errors, pair.errors
    targets = {}
    for role in ("primary", "secondary"):
        fp = the_plan.main(role)
        text = (after or {}).get(role, fp.after)
        targets[role] = HostTarget(role, pair.conn(role), CONF, LEASES, RESTART,
                                   [FileChange(CONF, fp.before, text)])
    events = []

    def record(role, step, msg):
        events.append((time.monotonic(), role, step, msg))
        if progress:
            progress(role, step, msg)

    tx = Transaction(targets, states_reader=reader(spec, answers, secret or the_plan.secret),
                     normal_timeout=normal_timeout, session=session, progress=record,
                     reconnect=reconnect or (lambda role: Pair(answers).open().conn(role)))
    return tx, pair, events
