"""The check engine: pre-flight and upgrade checks of a pair, shared by `check`, the TUI and
`deploy`. UI-free: results go to a progress callback as they come, cancellation comes in as a
threading.Event, and nothing here prints.

One host failing (down, wrong key, no sudo, no dhcpd) is a failed check on that host; the
other host is still checked as far as it can be. Statuses: pass, warn, fail, and skip for a
check that could not run (a skip never counts as a pass). What each outcome means for going
on is the registry's (wizard.checks.registry), judged by wizard.flow.policy.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable

from wizard.checks.base import CheckResult, Run
from wizard.checks.clock import clock_check
from wizard.checks.firewall_check import host_firewall_check
from wizard.checks.exposure import exposure_check
from wizard.checks.host import host_checks, parity_check, ssh_checks
from wizard.checks.leftover_check import leftovers_check
from wizard.checks.pair import failover_state_check, lint_check
from wizard.checks.path import path_check
from wizard.checks.ports import failover_port_check, omapi_port_check, peer_address_check
from wizard.checks.registry import ORDER
from wizard.checks.relays import relay_check
from wizard.roles import ROLES


def run_checks(answers, session=None, progress: Callable[[CheckResult], None] | None = None,
               cancel: threading.Event | None = None, pair=None,
               ssh_config=None, passphrase=None) -> list[CheckResult]:
    """All checks of the pair. Pass an open wizard.remote.ssh.Pair to reuse its connections."""
    from wizard.remote.ssh import Pair

    run = Run(answers, session, progress, cancel)
    network_jobs: list = []
    own_pair = pair is None
    if own_pair:
        pair = Pair(answers, session=session, ssh_config=ssh_config,
                    passphrase=passphrase).open()
    try:
        ssh_checks(run, pair)
        if run.cancel.is_set():
            return run.cancelled()
        # The path (a 2 s ping burst) and the exposure probes (bounded timeouts) need nothing
        # the other checks learn: they run beside all of them, so `check` is not slower by
        # their length.
        network = ThreadPoolExecutor(3, thread_name_prefix="path")
        network_jobs = [network.submit(path_check, run, pair, role) for role in ROLES]
        network_jobs.append(network.submit(exposure_check, run, pair))
        network.shutdown(wait=False)
        with ThreadPoolExecutor(8) as pool:
            jobs = [pool.submit(host_checks, run, pair, role) for role in ROLES]
            jobs.append(pool.submit(clock_check, run, pair))
            jobs += [pool.submit(failover_port_check, run, pair, role) for role in ROLES]
            jobs += [pool.submit(omapi_port_check, run, pair, role) for role in ROLES]
            jobs.append(pool.submit(relay_check, run, pair))
            jobs += [pool.submit(host_firewall_check, run, pair, role) for role in ROLES]
            for job in jobs:
                job.result()
        if run.cancel.is_set():
            return run.cancelled()
        parity_check(run)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda role: peer_address_check(run, pair, role), ROLES))
        lint_check(run)
        failover_state_check(run, pair)
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda role: leftovers_check(run, pair, role), ROLES))
        for job in network_jobs:
            job.result()
    finally:
        # Cancelled or not, their SSH channels must be done before the connections close.
        wait(network_jobs)
        if own_pair:
            pair.close()
    return sorted(run.results, key=lambda r: (ORDER[r.id], ROLES.index(r.host)
                                              if r.host in ROLES else 2))
