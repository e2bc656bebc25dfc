"""The guide's closing section as a step of the wizard: what the failover path and the
exposure of the ports are, and the firewall rules of `protect firewall`, applied the same way.

Blocking and UI-free (the TUI runs each call in a thread worker). The firewall work is
wizard.ops.firewall_apply.Protect, the object `protect firewall` drives, so the detection,
the plan and its diff, the watchdog, the confirmation over a new SSH connection, the probes,
the persistence and every session event are the headless command's.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from wizard.errors import OperationFailed
from wizard.ops.firewall_apply import Protect
from wizard.roles import ROLES

# The checks the step shows, run again on the deployed pair: the OMAPI port only listens
# once the plan has configured it, so the pre-flight exposure said too little.
SURVEY_CHECKS = ("path", "path-rtt", "path-mtu", "exposure", "host-firewall")
CONFIRM_TIMEOUT = 60.0      # as `protect firewall --confirm-timeout`'s default


def survey(answers, pair, session=None, cancel=None) -> tuple:
    """The path, exposure and host-firewall checks of the pair, over its open connections."""
    from wizard.checks.base import Run
    from wizard.checks.exposure import exposure_check
    from wizard.checks.firewall_check import host_firewall_check
    from wizard.checks.path import path_check
    from wizard.checks.registry import ORDER

    run = Run(answers, session, None, cancel)
    with ThreadPoolExecutor(5, thread_name_prefix="protect-survey") as pool:
        jobs = [pool.submit(path_check, run, pair, role) for role in ROLES]
        jobs += [pool.submit(host_firewall_check, run, pair, role) for role in ROLES]
        jobs.append(pool.submit(exposure_check, run, pair))
        for job in jobs:
            job.result()
    return tuple(sorted(run.results, key=lambda r: (ORDER[r.id], str(r.host))))


def routed(results) -> bool:
    """Whether either peer saw the failover path cross a router (the path check's words)."""
    return any(r.id == "path" and ": routed, " in r.detail for r in results)


def untrusted(results) -> bool:
    """Routed across a network the answers do not declare trusted: the guide's case for a
    tunnel (the path check warns exactly then)."""
    return any(r.id == "path" and r.status == "warn" for r in results)


def exposed(results) -> tuple:
    """The exposure findings that the firewall rules are there to fix."""
    return tuple(r for r in results if r.id == "exposure" and r.status in ("fail", "warn"))


@dataclass
class FirewallPlan:
    job: object                                   # the Protect run, prepared
    diffs: dict[str, str] = field(default_factory=dict)   # role -> diff, "" when in place

    @property
    def found(self) -> dict:
        return self.job.found

    @property
    def admin(self) -> dict[str, tuple[str, ...]]:
        return {role: plan.admin for role, plan in self.job.plans.items()}

    @property
    def changes(self) -> bool:
        return any(self.diffs.values())


class Cancelled(OperationFailed):
    """The operator's quit or a signal, seen between two hosts or before the confirmation."""


class CancellableProtect(Protect):
    """Protect, stoppable from another thread: the TUI's quit cannot interrupt the worker
    that applies, so the run looks at the token before arming each host and after each
    host's rules went in (the last moment before the confirmation). Both are inside the
    apply's own rollback, so what was armed is put back at once; the watchdogs remain the
    fallback if this process dies first."""

    cancel = None

    def _stop_if_cancelled(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            reason = getattr(self.cancel, "reason", "") or "cancelled"
            self.session.event("protect", "cancelled", reason=reason)
            raise Cancelled(f"{reason}: stopped before the confirmation; what was armed is "
                            "put back (by the hosts' watchdogs, should the wizard fail to)",
                            "run the protection step again when you want the rules")

    def _arm(self, role: str) -> None:
        self._stop_if_cancelled()
        super()._arm(role)

    def _apply(self, role: str) -> None:
        super()._apply(role)
        self._stop_if_cancelled()


def plan_firewall(deployment, confirm_timeout: float = CONFIRM_TIMEOUT, progress=None,
                  cancel=None) -> FirewallPlan:
    """Detect each peer's firewall and plan the rules, as `protect firewall` does before it
    asks; the answers' [protect] admin (empty: the address SSH comes from) is the admins'."""
    d = deployment
    pair = d.connect()

    def reconnect(role):
        # A new connection to the same target, with the same host-key checks: it is what
        # proves the rules leave the admin's SSH alone.
        from wizard.remote.ssh import connect

        return connect(role, pair.targets[role], sudo=d.answers.host(role).sudo,
                       session=d.session, passphrase=d.passphrase, timeout=5)

    job = CancellableProtect(d.answers, pair, d.session, reconnect, confirm_timeout,
                             progress=progress or (lambda _m: None))
    job.cancel = cancel
    return FirewallPlan(job, job.prepare())


def apply_firewall(plan: FirewallPlan):
    """Arm, apply, confirm, verify, persist (or put back): the Outcome, recorded as the
    headless command records it."""
    job = plan.job
    try:
        outcome = job.apply(plan.diffs)
    except OperationFailed as exc:
        # The headless command ends here with the error in the session's close; the
        # wizard's session goes on, so the end of this run is said now.
        job.session.event("protect", "done", ok=False, message=exc.message)
        raise
    job.session.event("protect", "done", ok=outcome.ok, message=outcome.message)
    return outcome
