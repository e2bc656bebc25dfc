"""The engine as the screens use it: blocking calls, run only from thread workers.

A thin facade over wizard.flow.deployment.Deployment so that a screen asks for one thing ("check
the pair", "plan") and gets plain results back; snapshot tests swap in a fake with the same
methods. Nothing here touches a widget: progress goes to whatever sink the running screen
set, and that sink posts messages to the UI thread.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from wizard.roles import ROLES


class Engine:
    def __init__(self, session_dir: str | None = None,
                 passphrase: Callable[[str], str | None] | None = None):
        self.session_dir = session_dir
        self.passphrase = passphrase
        from wizard.interrupt import CancelToken

        # The running operation's token; each screen's worker sets a fresh one.
        self.cancel: threading.Event = CancelToken()
        self.sink: Callable[[str, str, str], None] = lambda role, step, msg: None
        self._session = None
        self._deployment = None
        self._hosts_key = None
        self._configs: dict = {}
        self.plan_result = None

    def now(self) -> float:
        """Clock for the elapsed times screens show (a fake engine makes them stable)."""
        return time.monotonic()

    # -- session ---------------------------------------------------------------------------
    @property
    def session(self):
        if self._session is None:
            from wizard.record.session import Session

            self._session = Session.create(self.session_dir, command="tui")
        return self._session

    @property
    def session_path(self) -> str | None:
        return str(self._session.path) if self._session is not None else None

    def record(self, step: str, kind: str, **data) -> None:
        self.session.event(step, kind, **data)

    def record_acceptance(self, step: str, gate, accepted) -> None:
        from wizard.flow.policy import record_acceptance

        record_acceptance(self.session, step, gate, accepted)

    def close(self, status: str = "done") -> None:
        if self._deployment is not None:
            self._deployment.close()
            self._deployment = None
        if self._session is not None:
            self._session.close(status)

    # -- the deployment, rebuilt when the hosts change -------------------------------------
    def deployment(self, answers):
        from wizard.flow.deployment import Deployment

        key = (answers.primary, answers.secondary)
        if self._deployment is not None and key != self._hosts_key:
            self._deployment.close()
            self._deployment = None
        if self._deployment is None:
            self._deployment = Deployment(answers, self.session, progress=self._progress,
                                          cancel=self.cancel, passphrase=self.passphrase)
            self._hosts_key = key
            self._configs = {}
        self._deployment.answers = answers
        self._deployment.cancel = self.cancel
        return self._deployment

    def _progress(self, role: str, step: str, msg: str) -> None:
        self.sink(role, step, msg)

    def connect(self, answers) -> dict[str, Exception]:
        """Open both SSH connections; per-host errors (UnknownHostKey among them) returned."""
        from wizard.errors import OperationFailed

        d = self.deployment(answers)
        if d.pair is not None and d.pair.errors:
            d.close()           # retry the hosts that failed, e.g. after trusting a key
        try:
            d.connect()
        except OperationFailed:
            pass
        return dict(d.pair.errors) if d.pair is not None else {}

    def trust(self, error) -> str:
        from wizard.remote.ssh_config import trust_host_key

        return trust_host_key(error)

    def check(self, answers, on_result=None) -> list:
        return self.deployment(answers).check(on_result=on_result)

    def inspect(self, answers) -> dict:
        return self.deployment(answers).inspect()

    # -- step 2 ----------------------------------------------------------------------------
    def measure_clock(self, answers):
        from wizard.checks import clock
        from wizard.flow.steps import SkewVerdict

        pair = self.deployment(answers).connect()
        reading = clock.measure_connections({r: pair.conn(r) for r in ROLES})
        if reading is None:
            return SkewVerdict("fail", 0.0, 0.0, "none",
                               "cannot read both clocks (no NTP answer, `date` failed over SSH)",
                               "check that `date` works on both servers")
        status, detail, fix = clock.verdict(reading, answers.checks.max_skew_seconds)
        self.session.event("clock", "reading", skew=reading.skew, error=reading.error,
                           method=reading.method, status=status)
        return SkewVerdict(status, reading.skew, reading.error, reading.method, detail, fix)

    # -- step 3 ----------------------------------------------------------------------------
    def networks(self, answers):
        """(networks of the primary, pool differences for the chosen subnets)."""
        from wizard.errors import OperationFailed
        from wizard.facts import read_config
        from wizard.flow.steps import networks_of, pool_differences

        d = self.deployment(answers)
        if not d.hosts:
            d.inspect()
        for role in ROLES:
            config, summary = read_config(d.pair.conn(role), d.hosts[role].config_path)
            if config is None:
                raise OperationFailed(f"{role}: cannot read {d.hosts[role].config_path}: "
                                      f"{summary.get('error')}", summary.get("fix"))
            self._configs[role] = config
        return (networks_of(self._configs["primary"]),
                self.differences(answers.failover.pools))

    def differences(self, chosen) -> tuple[str, ...]:
        from wizard.flow.steps import pool_differences

        if len(self._configs) < 2:
            return ()
        return pool_differences(self._configs["primary"], self._configs["secondary"], chosen)

    # -- steps 5-10 ------------------------------------------------------------------------
    def plan(self, answers):
        self.plan_result = self.deployment(answers).plan()
        return self.plan_result

    def mask(self, text: str) -> str:
        return self.session.redactor.text(text)

    def apply(self, answers):
        return self.deployment(answers).apply_plan(self.plan_result, cancel=self.cancel)

    def revert(self, answers):
        """After a commit, "roll back" is a new change of both servers: each gets back the
        config it ran before, through the same transaction (validated, guarded, verified)."""
        d = self.deployment(answers)
        return d.revert(self.plan_result, cancel=self.cancel)

    def drill(self, answers, roles: tuple[str, ...] = ("primary",)):
        d = self.deployment(answers)
        return d.drill(cancel=self.cancel, roles=roles)

    def states(self, answers) -> dict:
        d = self.deployment(answers)
        return d.state_reader()()

    # -- the protection step (the guide's closing section) ----------------------------------
    def protect_survey(self, answers) -> tuple:
        from wizard.flow.protection import survey

        d = self.deployment(answers)
        return survey(d.answers, d.connect(), self.session, self.cancel)

    def protect_plan(self, answers, confirm_timeout: float | None = None):
        from wizard.flow.protection import CONFIRM_TIMEOUT, plan_firewall

        d = self.deployment(answers)
        return plan_firewall(d, confirm_timeout or CONFIRM_TIMEOUT,
                             progress=lambda msg: self.sink("pair", "firewall", msg),
                             cancel=self.cancel)

    def protect_apply(self, plan):
        from wizard.flow.protection import apply_firewall

        # The token of the worker that applies, not the planner's (each worker gets its own).
        plan.job.cancel = self.cancel
        return apply_firewall(plan)

    def protect_tunnel_plan(self, answers):
        from wizard.flow.tunnel import plan_tunnel

        return plan_tunnel(self.deployment(answers))

    def protect_tunnel_apply(self, answers, tunnel_plan):
        from wizard.flow.tunnel import run_tunnel

        d = self.deployment(answers)
        try:
            return run_tunnel(d, tunnel_plan)
        finally:
            d.answers = answers       # the screens' answers stay on the underlay addresses

    # -- the rolling upgrade (from the check screen) ---------------------------------------
    def upgrade(self, answers, order: tuple[str, ...], command: str | None = None,
                operator_done=None, resume: str | None = None):
        """wizard.flow.upgrade.run_upgrade on this pair; a wizard.flow.upgrade.UpgradeRun."""
        from wizard.flow.upgrade import run_upgrade

        d = self.deployment(answers)
        return run_upgrade(d, order, command=command, operator_done=operator_done,
                           resume=resume, answers_path=answers.source or "FILE")

    def survivor_watch(self, answers, survivor: str):
        """A wizard.ops.survivor_watch.SurvivorWatch on the peer serving alone."""
        from wizard.flow.upgrade import survivor_watch

        return survivor_watch(self.deployment(answers), survivor)
