"""The failover drill (guide steps 9 and 10): shut one peer down gracefully, prove the other
serves, put it back, wait for normal/normal.

Graceful means OMAPI's failover-state local-state = shutdown: the peer tells its partner,
which moves to partner-down by protocol. The drill never forces partner-down itself; the
one helper that does (force_partner_down) refuses while the partner still answers.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from wizard.errors import OperationFailed
from wizard.omapi import OmapiClient, OmapiError
from wizard.statewatch import Transition, both, roles_in, wait_for

OTHER = {"primary": "secondary", "secondary": "primary"}


class LeaseProbe(Protocol):
    """Something that can ask for a DHCP lease as a real client and say who answered."""

    def describe(self) -> str: ...

    def obtain(self, timeout: float) -> dict: ...


class LabProbe:
    def __init__(self, lab_name: str):
        from wizard.lab.lifecycle import existing_spec

        self.spec = existing_spec(lab_name)

    def describe(self) -> str:
        return f"dhclient in the lab's client namespace {self.spec.netns('client')}"

    def obtain(self, timeout: float) -> dict:
        from wizard.lab import lease

        return lease(self.spec, timeout=timeout, new_client=True).as_dict()


class ScriptProbe:
    """wizard/dhcp_probe_script.py as a real client: DISCOVER, REQUEST, ACK, RELEASE."""

    def __init__(self, interface: str, where: str):
        self.interface, self.where = interface, where

    def describe(self) -> str:
        return f"a DHCP client on {self.where} ({self.interface})"

    def _run(self, script: str, timeout: float) -> tuple[int | None, str, str]:
        raise NotImplementedError

    def obtain(self, timeout: float) -> dict:
        import json
        from pathlib import Path

        script = (Path(__file__).parent / "dhcp_probe_script.py").read_text()
        code, out, err = self._run(script, timeout)
        try:
            result = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise OperationFailed(f"the DHCP probe on {self.where} gave no result "
                                  f"(exit {code}): {err.strip()[:300]}",
                                  "it needs python3 and root (or sudo) there") from None
        if "error" in result:
            raise OperationFailed(f"{self.describe()}: {result['error']}")
        return result


class LocalProbe(ScriptProbe):
    """The wizard host itself, when it sits on the served segment."""

    def __init__(self, interface: str):
        super().__init__(interface, "this host")

    def _run(self, script, timeout):
        import subprocess
        import sys

        proc = subprocess.run([sys.executable, "-", self.interface, str(timeout)], input=script,
                              capture_output=True, text=True, timeout=timeout + 10)
        return proc.returncode, proc.stdout, proc.stderr


class SshProbe(ScriptProbe):
    """A probe host on the served segment, reached over SSH like the servers."""

    def __init__(self, host_answers, interface: str, session=None):
        super().__init__(interface, host_answers.host)
        self.host_answers, self.session = host_answers, session

    def _run(self, script, timeout):
        import shlex

        from wizard.ssh import connect
        from wizard.ssh_config import resolve_host

        conn = connect("probe", resolve_host(self.host_answers), sudo=self.host_answers.sudo,
                       session=self.session)
        try:
            res = conn.run(f"python3 - {shlex.quote(self.interface)} {timeout:g}", stdin=script,
                           privileged=True, timeout=timeout + 10, label="dhcp probe")
        finally:
            conn.close()
        return res.exit_code, res.stdout, res.stderr


def probe_from_answers(answers, session=None) -> LeaseProbe | None:
    """[drill] probe: "lab:NAME", "local:IFACE" or "ssh:HOST" (with probe_interface)."""
    from dataclasses import replace

    probe = answers.drill.probe
    if not probe:
        return None
    kind, _, rest = probe.partition(":")
    if kind == "lab":
        return LabProbe(rest)
    if kind == "local":
        return LocalProbe(rest)
    # The probe host is reached as the primary is: same user, key, known_hosts and sudo.
    host = replace(answers.primary, host=rest, port=None, config=None, restart=None)
    return SshProbe(host, answers.drill.probe_interface, session)


@dataclass
class Endpoint:
    address: str
    omapi_port: int
    failover_port: int


@dataclass
class DrillStep:
    name: str
    ok: bool
    detail: str
    seconds: float
    data: dict = field(default_factory=dict)


@dataclass
class DrillResult:
    passed: bool
    service_proven: bool
    steps: list[DrillStep]
    timeline: list[Transition]
    summary: str


class Drill:
    def __init__(self, endpoints: dict[str, Endpoint], relationship: str, key_name: str,
                 secret: str, *, probe: LeaseProbe | None, mclt: int, max_response_delay: int,
                 session=None, progress: Callable[[str, str], None] | None = None,
                 cancel: threading.Event | None = None, omapi_timeout: float = 5.0):
        self.ep = endpoints
        self.rel = relationship
        self.key_name, self.secret = key_name, secret
        self.probe = probe
        self.mclt, self.mrd = mclt, max_response_delay
        self.session = session
        self.progress = progress or (lambda step, msg: None)
        self.cancel = cancel or threading.Event()
        self.omapi_timeout = omapi_timeout
        self.steps: list[DrillStep] = []
        self.timeline: list[Transition] = []
        self._known: dict[str, str] = {}

    def _read(self):
        from wizard.omapi import read_states

        return read_states({r: (e.address, e.omapi_port) for r, e in self.ep.items()},
                           self.key_name, self.secret, self.rel, timeout=self.omapi_timeout)

    def _step(self, name: str, ok: bool, detail: str, started: float, **data) -> DrillStep:
        step = DrillStep(name, ok, detail, round(time.monotonic() - started, 3), data)
        self.steps.append(step)
        if self.session is not None:
            self.session.event("drill", name, ok=ok, detail=detail, seconds=step.seconds, **data)
        self.progress(name, ("ok: " if ok else "FAILED: ") + detail)
        return step

    def _on_transition(self, tr: Transition) -> None:
        self.timeline.append(tr)
        if self.session is not None:
            self.session.event("drill", "state", host=tr.role, before=tr.before, after=tr.after,
                               partner=tr.partner_state, at=tr.t)
        self.progress("state", f"{tr.role}: {tr.before} -> {tr.after}: {tr.explanation}")

    def _set(self, role: str, state: str) -> None:
        e = self.ep[role]
        with OmapiClient(e.address, e.omapi_port, self.key_name, self.secret,
                         timeout=self.omapi_timeout) as client:
            client.set_local_state(self.rel, state)

    def run(self, down_roles: tuple[str, ...] = ("primary",)) -> DrillResult:
        t0 = time.monotonic()
        start = wait_for(self._read, both("normal"), timeout=5, on_transition=self._on_transition, known=self._known)
        if not start.ok:
            self._step("precondition", False, "the drill needs both peers in normal; they are "
                       + ", ".join(f"{r} {s}" for r, s in start.states().items()), t0)
            return self._result()
        self._step("precondition", True, "both peers are normal", t0)
        for role in down_roles:
            if not self._one(role):
                break
        return self._result()

    def _one(self, down: str) -> bool:
        survivor = OTHER[down]
        t = time.monotonic()
        try:
            self._set(down, "shutdown")
        except OmapiError as exc:
            self._step(f"shutdown-{down}", False, exc.message, t)
            return False
        res = wait_for(self._read, roles_in(**{down: "shutdown", survivor: "partner-down"}),
                       timeout=self.mrd + 15, cancel=self.cancel,
                       on_transition=self._on_transition, known=self._known)
        ok = res.ok
        self._step(f"shutdown-{down}", ok, f"{down} shut down gracefully; {survivor} took over "
                   "(partner-down)" if ok else f"{survivor} did not take over: "
                   + ", ".join(f"{r} {s}" for r, s in res.states().items()), t,
                   seconds_to_partner_down=round(res.waited, 3))
        proven = ok and self._prove(survivor)
        # Always put the peer back, even when a step above failed: a drill must not leave a
        # server in shutdown (it would stay there across restarts).
        back = self._restore(down)
        return ok and proven and back

    def _prove(self, survivor: str) -> bool:
        t = time.monotonic()
        if self.probe is None:
            self._step("service", True, "service not proven: no probe client is configured "
                       "([drill] probe in the answers); the states say the survivor serves", t,
                       proven=False)
            return True
        try:
            lease = self.probe.obtain(timeout=20)
        except OperationFailed as exc:
            self._step("service", False, f"no lease from {self.probe.describe()}: {exc.message}", t,
                       proven=False)
            return False
        from_survivor = lease.get("server") == self.ep[survivor].address
        detail = (f"{self.probe.describe()} got {lease.get('address')} from "
                  f"{lease.get('server')} in {lease.get('elapsed', 0):.2f} s")
        if not from_survivor:
            detail += f", but not from the survivor ({self.ep[survivor].address})"
        self._step("service", from_survivor, detail, t, proven=from_survivor, lease=lease)
        return from_survivor

    def _restore(self, down: str) -> bool:
        t = time.monotonic()
        try:
            self._set(down, "recover")
        except OmapiError as exc:
            self._step(f"recover-{down}", False, exc.message, t)
            return False
        # The returning peer relearns the leases the survivor gave out and waits out MCLT.
        limit = self.mclt + 2 * self.mrd + 30
        self.progress("waiting", f"{down} is back in operation; waiting up to {limit} s for "
                      "normal on both (it may wait out MCLT in recover-wait)")
        res = wait_for(self._read, both("normal"), timeout=limit, cancel=self.cancel,
                       on_transition=self._on_transition, known=self._known)
        self._step(f"recover-{down}", res.ok, "both peers are normal again" if res.ok else
                   "not back to normal: " + ", ".join(f"{r} {s}" for r, s in res.states().items()),
                   t, seconds_to_normal=round(res.waited, 3))
        return res.ok

    def _result(self) -> DrillResult:
        passed = bool(self.steps) and all(s.ok for s in self.steps)
        proven = any(s.name == "service" and s.data.get("proven") for s in self.steps)
        if passed and proven:
            summary = "drill passed: the survivor served a real client and both peers are normal"
        elif passed:
            summary = "drill passed on the states, but service not proven (no probe client)"
        else:
            failed = next(s for s in self.steps if not s.ok)
            summary = f"drill failed at {failed.name}: {failed.detail}"
        if self.session is not None:
            self.session.event("drill", "result", passed=passed, service_proven=proven,
                               summary=summary)
        return DrillResult(passed, proven, self.steps, self.timeline, summary)


def reachable(address: str, port: int, timeout: float = 2.0) -> bool:
    """True when something answers at address:port (refused counts: the host is up)."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def force_partner_down(endpoints: dict[str, Endpoint], survivor: str, relationship: str,
                       key_name: str, secret: str) -> None:
    """Tell survivor its partner is down. Refused while the partner still answers anything:
    two servers that both think they own every address hand out duplicates."""
    partner = endpoints[OTHER[survivor]]
    if reachable(partner.address, partner.failover_port) or reachable(partner.address,
                                                                      partner.omapi_port):
        raise OperationFailed(
            f"refusing to force partner-down on {survivor}: its partner {partner.address} "
            "still answers on the network",
            "shut the partner down gracefully (OMAPI local-state shutdown) or make sure it is "
            "really off before forcing partner-down")
    e = endpoints[survivor]
    with OmapiClient(e.address, e.omapi_port, key_name, secret) as client:
        client.set_local_state(relationship, "partner-down")
