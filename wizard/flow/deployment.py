"""The guide end to end, as stages the headless commands and the TUI share.

Deployment holds the open SSH pair and what each stage learned; each stage is a plain
blocking call (the TUI runs them in thread workers) that reports through `progress` and
stops early when `cancel` is set.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from wizard.errors import OperationFailed
from wizard.roles import ROLES

Progress = Callable[[str, str, str], None]   # (role or "pair", step, message)


@dataclass
class HostInfo:
    role: str
    address: str            # where this host answers OMAPI: the address SSH reached
    config_path: str
    config_source: str
    lease_path: str
    restart: str
    dhcpd: str
    facts: object


class Deployment:
    def __init__(self, answers, session=None, progress: Progress | None = None,
                 cancel: threading.Event | None = None, passphrase=None,
                 normal_timeout: float | None = None, settle: float | None = None):
        self.answers = answers
        self.settle = settle
        self._normal_timeout = normal_timeout  # the operator's, over the one from the timers
        self.session = session
        self.progress = progress or (lambda role, step, msg: None)
        self.cancel = cancel or threading.Event()
        self.passphrase = passphrase
        self.pair = None
        self.hosts: dict[str, HostInfo] = {}
        self.secret: str | None = None

    # -- connection ----------------------------------------------------------------------
    def __enter__(self) -> "Deployment":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.pair is not None:
            self.pair.close()
            self.pair = None

    def connect(self):
        from wizard.remote.ssh import Pair

        if self.pair is None:
            self.pair = Pair(self.answers, session=self.session,
                             passphrase=self.passphrase).open()
        if self.pair.errors:
            reasons = "; ".join(f"{r}: {e.message}" for r, e in self.pair.errors.items())
            raise OperationFailed(f"cannot connect: {reasons}",
                                  "; ".join(e.hint for e in self.pair.errors.values() if e.hint)
                                  or None)
        return self.pair

    def reconnect(self, role: str):
        from wizard.remote.ssh import connect

        conn = connect(role, self.pair.targets[role], sudo=self.answers.host(role).sudo,
                       session=self.session, passphrase=self.passphrase)
        self.pair.connections[role] = conn
        return conn

    # -- steps 1-4 -----------------------------------------------------------------------
    def check(self, on_result=None) -> list:
        from wizard.checks.engine import run_checks

        pair = self.connect() if self.pair is None else self.pair
        return run_checks(self.answers, self.session, progress=on_result, cancel=self.cancel,
                          pair=pair)

    def inspect(self) -> dict[str, HostInfo]:
        """Where each host keeps its config and leases, and how it restarts dhcpd."""
        from wizard import facts as facts_mod

        pair = self.connect()

        def one(role: str) -> HostInfo:
            conn = pair.conn(role)
            f = facts_mod.gather(conn)
            given = self.answers.host(role)
            config = given.config or f.config.value
            restart = given.restart or f.service.restart
            if not config:
                raise OperationFailed(f"{role}: cannot tell which dhcpd.conf is in use",
                                      f'give its path: config = "/path/dhcpd.conf" in [{role}] '
                                      "of the answers file, or the Config field of step 1")
            if not restart:
                raise OperationFailed(f"{role}: cannot tell how dhcpd is restarted",
                                      f'give the command: restart = "..." in [{role}] of the '
                                      "answers file, or the Restart field of step 1 (e.g. "
                                      '"systemctl restart isc-dhcp-server")')
            if not f.dhcpd.path:
                raise OperationFailed(f"{role}: dhcpd is not installed",
                                      "install the ISC DHCP server package on it first")
            info = HostInfo(role, conn.remote_address, config,
                            "answers file" if given.config else (f.config.source or "detected"),
                            f.leases.value or "/var/lib/dhcp/dhcpd.leases", restart,
                            f.dhcpd.path, f)
            if self.session is not None:
                self.session.event("inspect", "host", host=role, config=info.config_path,
                                   config_source=info.config_source, leases=info.lease_path,
                                   restart=info.restart, dhcpd=info.dhcpd, address=info.address)
            return info

        with ThreadPoolExecutor(2) as pool:
            futures = {r: pool.submit(one, r) for r in ROLES}
        errors = {}
        for role, fut in futures.items():
            try:
                self.hosts[role] = fut.result()
            except OperationFailed as exc:
                errors[role] = exc
        if errors:
            first = next(iter(errors.values()))
            raise OperationFailed("; ".join(e.message for e in errors.values()), first.hint)
        return self.hosts

    # -- steps 5-7 -----------------------------------------------------------------------
    def plan(self):
        from wizard.conf.plan import plan_pair
        from wizard.remote.loader import RemoteLoader

        if not self.hosts:
            self.inspect()
        loaders = {r: RemoteLoader(self.pair.conn(r)) for r in ROLES}
        the_plan = plan_pair(self.answers, self.hosts["primary"].config_path,
                             self.hosts["secondary"].config_path, loader=loaders["primary"],
                             secondary_loader=loaders["secondary"])
        self.secret = the_plan.secret
        if self.session is not None:
            the_plan.record(self.session)
        return the_plan

    # -- step 8 --------------------------------------------------------------------------
    def endpoints(self):
        from wizard.ops.drill import Endpoint

        fo = self.answers.failover
        ports = {"primary": fo.primary_port, "secondary": fo.secondary_port}
        return {r: Endpoint(self.hosts[r].address, self.answers.omapi.port, ports[r])
                for r in ROLES}

    def state_reader(self, secret: str | None = None):
        from wizard.ops.omapi import read_states

        eps = {r: (e.address, e.omapi_port) for r, e in self.endpoints().items()}
        key = secret or self.secret
        return lambda: read_states(eps, self.answers.omapi.key_name, key,
                                   self.answers.failover.name, timeout=3)

    def normal_timeout(self, expect_mclt_wait: bool = False) -> float:
        from wizard.ops.statewatch import normal_deadline

        if self._normal_timeout is not None:
            return self._normal_timeout
        fo = self.answers.failover
        return normal_deadline(fo.mclt, fo.max_response_delay, expect_mclt_wait)

    def apply_plan(self, the_plan, cancel=None):
        """Step 8 as every front end runs it: a plan that changes something goes through the
        transaction; one that changes nothing only waits until both peers are normal."""
        from wizard.ops.statewatch import diagnose
        from wizard.ops.transaction import ApplyResult

        if the_plan.changed:
            return self.apply(the_plan, cancel=cancel)
        if cancel is not None:
            self.cancel = cancel
        waited = self.wait_normal()
        if self.session is not None:
            self.session.event("apply", "unchanged", ok=waited.ok, states=waited.states())
        if waited.ok:
            return ApplyResult(True, "done", "the servers already run this configuration",
                               waited=waited.waited, changed=False, timeline=waited.timeline)
        phase = "cancelled" if waited.cancelled else "normal"
        reason = "the pair is not normal: " + ", ".join(
            f"{r} {s}" for r, s in waited.states().items())
        return ApplyResult(False, phase, reason, waited=waited.waited, changed=False,
                           timeline=waited.timeline,
                           notes=diagnose(waited.last, self.answers.failover.mclt))

    def revert(self, the_plan, cancel=None):
        """Undo a committed plan: the same transaction with before and after swapped. The
        old configs may have no failover, so success is both running, not both normal."""
        swapped = the_plan.swapped()
        expect = all("failover peer" in f.before for f in the_plan.files if f.role)
        return self.apply(swapped, cancel=cancel, expect_failover=expect, command="revert")

    def apply(self, the_plan, cancel=None, expect_failover: bool = True,
              command: str | None = None):
        from wizard.remote import shell as remote_sh
        from wizard.ops.transaction import SETTLE, FileChange, HostTarget, Transaction

        targets = {}
        for role in ROLES:
            info = self.hosts[role]
            files = [FileChange(f.path, f.before, f.after) for f in the_plan.files
                     if f.role == role]
            targets[role] = HostTarget(role, self.pair.conn(role), info.config_path,
                                       info.lease_path, info.restart, files, dhcpd=info.dhcpd)

        def log_reader(role: str) -> str:
            return self.pair.conn(role).run(remote_sh.dhcpd_log_tail(), privileged=True,
                                            label="dhcpd log").stdout

        self.clear_leftovers(cancel or self.cancel)
        fo = self.answers.failover
        tx = Transaction(targets, states_reader=self.state_reader(the_plan.secret),
                         normal_timeout=self.normal_timeout(), session=self.session,
                         progress=self.progress, cancel=cancel or self.cancel,
                         reconnect=self.reconnect, log_reader=log_reader,
                         max_response_delay=fo.max_response_delay,
                         settle=self.settle if self.settle is not None else SETTLE,
                         expect_failover=expect_failover,
                         command=command or getattr(self.session, "command", "") or "apply")
        return tx.run()

    def clear_leftovers(self, cancel=None):
        """What earlier runs left on both hosts: said, waited for or cleaned, before any
        change (wizard.ops.leftovers)."""
        from wizard.ops.leftovers import settle_before_change

        conns = {r: self.pair.conn(r) for r in ROLES}
        paths = {r: (self.hosts[r].config_path, self.hosts[r].lease_path) for r in ROLES}
        found = settle_before_change(conns, paths, self.progress, cancel)
        if self.session is not None:
            self.session.event("apply", "leftovers", findings={
                r: [s for _st, s in f.findings()] for r, f in found.items()})
        return found

    def wait_normal(self, timeout: float | None = None):
        from wizard.ops.statewatch import both, wait_for

        return wait_for(self.state_reader(), both("normal"),
                        timeout if timeout is not None else self.normal_timeout(True),
                        cancel=self.cancel,
                        on_transition=lambda tr: self.progress(
                            tr.role, "state", f"{tr.before} -> {tr.after}: {tr.explanation}"))

    # -- steps 9-10 ----------------------------------------------------------------------
    def link_ages(self) -> dict[str, float | None]:
        """Seconds since failover data last arrived on each host (None: cannot tell)."""
        from wizard.remote import shell as remote_sh

        fo = self.answers.failover
        cmd = remote_sh.failover_link([fo.primary_port, fo.secondary_port])
        out: dict[str, float | None] = {}
        for role in ROLES:
            res = self.pair.conn(role).run(cmd, privileged=True, timeout=5, label="link",
                                           quiet=True)
            ages = [int(x) / 1000 for x in res.stdout.split() if x.isdigit()]
            out[role] = min(ages) if res.ok and ages else None
        return out

    def _drill_guard(self, role: str):
        from wizard.ops.drill_guard import DrillGuard
        from wizard.ops.transaction import new_stamp, owner

        info = self.hosts.get(role)
        return DrillGuard(self.pair.conn(role), role, omapi_port=self.answers.omapi.port,
                          key_name=self.answers.omapi.key_name, secret=self.secret,
                          relationship=self.answers.failover.name,
                          owner=owner(new_stamp(), "drill", self.session),
                          restart=info.restart if info is not None else None,
                          reconnect=lambda: self.reconnect(role))

    def _drill(self, window=None):
        from wizard.ops.drill import Drill
        from wizard.ops.lease_probe import probe_from_answers

        fo = self.answers.failover
        if self.secret is None:
            raise OperationFailed("the OMAPI key is not known",
                                  "plan first, or set [omapi] secret_file in the answers")
        if self.pair is not None and not self.hosts:
            self.inspect()        # the restart command of the peer it takes out of service
        probe = probe_from_answers(self.answers, self.session) or self._found_probe()
        return Drill(self.endpoints(), fo.name, self.answers.omapi.key_name, self.secret,
                     probe=probe, mclt=fo.mclt,
                     max_response_delay=fo.max_response_delay, session=self.session,
                     progress=lambda step, msg: self.progress("drill", step, msg),
                     cancel=self.cancel,
                     link_ages=self.link_ages if self.pair is not None else None,
                     guard_for=self._drill_guard if self.pair is not None else None,
                     window=window)

    def drill(self, swap: bool = False, cancel=None, roles: tuple[str, ...] | None = None,
              window=None):
        """Take each peer of `roles` out of service and bring it back (steps 9-10); with a
        window (wizard.ops.upgrade.UpgradeWindow), do that work while it is out."""
        if cancel is not None:
            self.cancel = cancel
        drill = self._drill(window)
        return drill.run(roles or (("primary", "secondary") if swap else ("primary",)))

    def bring_back(self, role: str, window=None):
        """A peer left in shutdown by a failed window, returned to normal (upgrade --resume):
        the window's checks first (wizard.ops.upgrade.UpgradeWindow.verify)."""
        return self._drill(window).bring_back(role, window.verify if window else None)

    def _found_probe(self):
        """No probe configured: this host, where it has a leg on a subnet the pair serves."""
        from wizard.facts import read_config
        from wizard.flow.steps import networks_of
        from wizard.ops.lease_probe import found_probe

        if self.pair is None or "primary" not in self.hosts:
            return None
        config, _summary = read_config(self.pair.conn("primary"),
                                       self.hosts["primary"].config_path)
        if config is None:
            return None
        servers = [a.address for info in self.hosts.values()
                   for a in getattr(info, "addresses", ()) or ()]
        return found_probe([n.cidr for n in networks_of(config) if n.servable], servers)
