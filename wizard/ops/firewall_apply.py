"""`protect firewall` as a transaction over both peers: detect, plan, arm a watchdog on each,
apply, confirm over NEW SSH connections, verify with probes, persist; or put it all back.
And its undoing (`--remove`): our rules out of both peers, runtime and persisted, checked.
How each kind of host firewall takes the rules is wizard/ops/firewall_backends.py.

Why a new connection confirms: the rules are in place before it is opened, so if they cut
the admin's SSH the confirmation never arrives and each host's watchdog restores by itself,
whatever happens to the wizard (Ctrl+C, kill, link drop).
"""

from __future__ import annotations

import errno
import hashlib
import shlex
import socket
import time
from dataclasses import dataclass, field

from wizard.errors import OperationFailed
from wizard.ops import firewall_host as host
from wizard.ops.firewall_backends import Backend, backend_for
from wizard.ops.firewall_rules import Detected, Plan, admin_set, admits, parse_detection
from wizard.roles import OTHER, ROLES

PROBE_TIMEOUT = 1.5
# Vantage points besides this host and the peers, by the kind of answers' drill.probe
# ("lab:NAME"): the front ends register them, as they do the drill's probes.
_VANTAGE: dict[str, type] = {}


def register_vantage(kind: str, factory) -> None:
    _VANTAGE[kind] = factory


def vantage_of(answers):
    probe = answers.drill.probe or ""
    kind, _, name = probe.partition(":")
    return _VANTAGE[kind](name) if kind in _VANTAGE else None


def ports_of(answers, role: str) -> dict[str, str]:
    fo = answers.failover
    return {f"{getattr(fo, f'{role}_port')}/tcp": "failover",
            f"{answers.omapi.port}/tcp": "OMAPI", "67/udp": "DHCP"}


def detect(conn, answers, role: str, deep: bool | str = "ours") -> Detected:
    """deep: True, also firewalld's whole config and whether its runtime differs from its
    permanent config (what `protect firewall` needs); "ours" (default), only our firewalld
    objects, so that `check` can tell our policy is there; False, neither."""
    script = host.DETECT + {True: host.DETECT_FIREWALLD, "ours": host.DETECT_FIREWALLD_OURS
                            }.get(deep, "")
    res = conn.run(script, privileged=True, label="firewall-detect", timeout=60)
    if not res.ok and not res.stdout:
        raise OperationFailed(f"{role}: cannot read the host firewall ({res.stderr.strip()})",
                              "the login needs root or sudo for nft/iptables-save")
    ssh = conn.run(host.SSH_CLIENT, label="ssh-client")
    return parse_detection(res.stdout + "\n" + ssh.stdout, ports_of(answers, role))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Outcome:
    ok: bool
    message: str
    probes: list[dict] = field(default_factory=list)
    changed: bool = False


def peer_address(answers, pair, role: str) -> str:
    address = getattr(answers.failover, f"{role}_address")
    return address or pair.conn(role).remote_address


def plan_pair(answers, pair, found: dict[str, Detected],
              extra: dict[str, tuple[tuple[int, str], ...]]):
    plans = {}
    for role in ROLES:
        det = found[role]
        admin = admin_set(answers.protect.admin, det.ssh_client)
        if not admin:
            raise OperationFailed(f"{role}: cannot tell the address this wizard comes from",
                                  'set [protect] admin = ["CIDR", ...] in the answers')
        plans[role] = Plan(role, getattr(answers.failover, f"{role}_port"),
                           peer_address(answers, pair, OTHER[role]), answers.omapi.port,
                           admin, extra.get(role, ()), tunnel_address(answers, OTHER[role]))
    return plans


def tunnel_address(answers, role: str) -> str | None:
    """The peer's end of `protect tunnel`'s WireGuard, where the answers set one: failover
    may come from it (after the tunnel) as well as from the underlay (before it, and while
    the tunnel's transaction switches), so either order of the two protections works."""
    import ipaddress

    addresses = answers.tunnel.addresses
    if len(addresses) != len(ROLES):
        return None
    try:
        return str(ipaddress.IPv4Interface(addresses[ROLES.index(role)]).ip)
    except ValueError:
        return None


def probe_script(address: str, port: int) -> str:
    py = ("import socket,sys\ns=socket.socket();s.settimeout(float(sys.argv[3]))\n"
          "try:\n s.connect((sys.argv[1],int(sys.argv[2])));print('open')\n"
          "except socket.timeout:print('timeout')\n"
          "except ConnectionRefusedError:print('refused')\n"
          "except OSError as e:print('rejected' if e.errno==113 else 'error')\n")
    return (f"python3 -c {shlex.quote(py)} {shlex.quote(address)} {port} {PROBE_TIMEOUT}")


def local_probe(address: str, port: int) -> str:
    s = socket.socket()
    s.settimeout(PROBE_TIMEOUT)
    try:
        s.connect((address, port))
        return "open"
    except (socket.timeout, TimeoutError):
        return "timeout"
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:
        # A firewall's reject (icmp host-prohibited) arrives as "no route to host".
        return "rejected" if exc.errno == errno.EHOSTUNREACH else "error"
    finally:
        s.close()


def verify(answers, pair, plans: dict[str, Plan], session=None, extra_probes=()) -> list[dict]:
    """Every vantage point we have: this host, each peer towards the other, and a registered
    one (the lab's client segment). `reached` means open or refused (a reset comes from the
    host: nothing dropped it). The probes run side by side: each blocked one waits out its
    timeout."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = []        # (source, target role, port, what, expected to reach, probe)

    def on_peer(conn, address, port):
        return lambda: conn.run(probe_script(address, port), label="firewall-probe") \
            .stdout.strip() or "error"

    vantage = vantage_of(answers)
    for role in ROLES:
        addr = peer_address(answers, pair, role)
        admin = plans[role].admin
        wizard_addr = pair.conn(role).local_address
        # OMAPI listens everywhere; the wizard reaches it where SSH does (a failover address
        # may be a tunnel's, which only the peers reach).
        reached = pair.conn(role).remote_address
        omapi, fo = answers.omapi.port, plans[role].failover_port
        jobs.append(("wizard", role, omapi, "OMAPI",
                     admits(admin, wizard_addr) if wizard_addr else True,
                     lambda a=reached: local_probe(a, omapi)))
        other = OTHER[role]
        conn = pair.conn(other)
        jobs.append((other, role, fo, "failover", True, on_peer(conn, addr, fo)))
        jobs.append((other, role, omapi, "OMAPI",
                     admits(admin, peer_address(answers, pair, other)),
                     on_peer(conn, addr, omapi)))
    far = []         # the registered vantage point's probes, run as one batch
    if vantage is not None:
        for role in ROLES:
            addr = peer_address(answers, pair, role)
            far.append((vantage.describe(), role, plans[role].failover_port, "failover", False,
                        addr))
            far.append((vantage.describe(), role, answers.omapi.port, "OMAPI",
                        admits(plans[role].admin, vantage.address), addr))
    with ThreadPoolExecutor(len(jobs) + 1) as pool:
        batch = pool.submit(vantage.tcp_many, [(j[5], j[2]) for j in far]) if far else None
        outcomes = list(pool.map(lambda job: job[5](), jobs))
        if batch is not None:
            jobs += far
            outcomes += batch.result()
    out = [{"from": src, "to": dst, "port": port, "what": what,
            "expect": "reach" if expect else "blocked", "outcome": outcome,
            # A probe that could not run proves nothing either way: never "ok".
            "ok": outcome in ("open", "refused", "timeout", "rejected")
            and (outcome in ("open", "refused")) == expect}
           for (src, dst, port, what, expect, _), outcome in zip(jobs, outcomes)]
    for probe in extra_probes:
        out.extend(probe(answers, plans))
    if session is not None:
        session.event("protect", "probes", probes=out)
    return out


class Protect:
    """One run. `reconnect(role)` opens a fresh Connection (same target, same checks).
    extra: test-only drops per role, ((tcp port, source address), ...)."""

    def __init__(self, answers, pair, session, reconnect, confirm_timeout: float = 60.0,
                 extra: dict[str, tuple[tuple[int, str], ...]] | None = None, progress=print,
                 extra_probes=()):
        self.answers, self.pair, self.session = answers, pair, session
        self.reconnect, self.timeout = reconnect, confirm_timeout
        self.extra = extra or {}
        self.progress = progress
        self.extra_probes = extra_probes
        self.found: dict[str, Detected] = {}
        self.plans: dict[str, Plan] = {}
        self.backends: dict[str, Backend] = {}

    def _detect_all(self) -> None:
        """Detect both peers and pick the way each takes our rules; refuses (nothing
        changed) when one cannot, with the reason and the fix."""
        from concurrent.futures import ThreadPoolExecutor

        # Side by side: a firewalld host's detection takes seconds (a dozen firewall-cmd).
        with ThreadPoolExecutor(len(ROLES)) as pool:
            found = dict(zip(ROLES, pool.map(
                lambda r: detect(self.pair.conn(r), self.answers, r, deep=True), ROLES)))
        for role in ROLES:
            det = self.found[role] = found[role]
            self.session.event("protect", "detected", host=role, firewall=det.kind,
                               detail=det.detail, effects=det.effects)
        for role in ROLES:
            self.backends[role] = backend_for(self.found[role], role)
            self.session.event("protect", "method", host=role,
                               method=self.backends[role].name)
        for role in ROLES:
            self._evidence(role, "before")

    def _evidence(self, role: str, when: str) -> str:
        be = self.backends[role]
        text = be.listing_found() if when == "before" else None
        if text is None:
            text = self.pair.conn(role).run(be.listing, privileged=True, label="firewall-list",
                                            timeout=60).stdout
        self.session.artifact(f"firewall-{role}-{when}.{be.artifact_ext}", text,
                              step="protect", host=role, firewall=self.found[role].kind,
                              method=be.name, sha256_ruleset=sha(text))
        return text

    def prepare(self) -> dict[str, str]:
        """Detect and plan; returns the diff per role ('' where already in place)."""
        self._detect_all()
        self.plans = plan_pair(self.answers, self.pair, self.found, self.extra)
        diffs = {}
        for role, plan in self.plans.items():
            diffs[role] = self.backends[role].change(plan, role)
            self.session.artifact(f"firewall-{role}-plan.diff", diffs[role] or "(unchanged)\n",
                                  step="protect", host=role)
        return diffs

    def apply(self, diffs: dict[str, str]) -> Outcome:
        todo = [r for r in ROLES if diffs[r]]
        if not todo:
            probes = verify(self.answers, self.pair, self.plans, self.session, self.extra_probes)
            bad = [p for p in probes if not p["ok"]]
            return Outcome(not bad, "already in place; " + _probe_summary(probes), probes)
        armed: list[str] = []
        try:
            for role in ROLES:
                if self.pair.conn(role).run(host.watchdog_active(), privileged=True).stdout \
                        .strip() == "active":
                    raise OperationFailed(f"{role}: an earlier protect run still awaits its "
                                          "confirmation", f"wait {self.timeout:g} s for its "
                                          "watchdog, then run again")
            for role in todo:
                self._arm(role)
                armed.append(role)
                self._apply(role)
        except BaseException:
            self._restore(armed, "apply failed")
            raise
        self.progress(f"rules in place on {', '.join(todo)}; confirming over new SSH "
                      "connections")
        confirmed = self._confirm(todo)
        if not confirmed:
            return self._await_watchdogs(todo)
        probes = verify(self.answers, self.pair, self.plans, self.session, self.extra_probes)
        bad = [p for p in probes if not p["ok"]]
        if bad:
            self._restore(todo, "verification failed", force=True)
            return Outcome(False, "verification failed, old rules restored: "
                           + _probe_summary(bad), probes)
        persisted: dict[str, str] = {}
        for role in todo:
            persisted[role] = self.backends[role].persist(self.pair.conn(role), self.plans[role])
            self.session.event("protect", "persisted", host=role, result=persisted[role])
            self._evidence(role, "after")
        kept = ", ".join(f"{r}: {p}" for r, p in persisted.items())
        return Outcome(True, f"applied and verified ({kept}): " + _probe_summary(probes),
                       probes, True)

    # -- removal -------------------------------------------------------------------------
    def prepare_removal(self) -> dict[str, str]:
        """Detect; returns what goes per role ('' where nothing of ours is there)."""
        self._detect_all()
        diffs = {}
        for role in ROLES:
            diffs[role] = self.backends[role].removal(role)
            self.session.artifact(f"firewall-{role}-remove.diff",
                                  diffs[role] or "(nothing of ours)\n", step="protect",
                                  host=role)
        return diffs

    def remove(self, diffs: dict[str, str]) -> Outcome:
        """Our rules out (persisted first, then runtime, so an interrupted removal leaves
        them at most running until the next boot, and a re-run finishes it). Removing only
        ever takes drops away, so it cannot cut this wizard off: no watchdog."""
        todo = [r for r in ROLES if diffs[r]]
        if not todo:
            self.session.event("protect", "nothing-to-remove")
            return Outcome(True, "nothing of dhcp-wizard's on either peer: nothing to remove")
        results = {}
        for role in todo:
            conn, be = self.pair.conn(role), self.backends[role]
            gone = be.unpersist(conn)
            res = conn.run(be.remove_sh(), privileged=True, label="firewall-remove", timeout=150)
            self.session.event("protect", "removed", host=role, ok=res.ok, persisted=gone,
                               stderr=res.stderr.strip()[:300])
            results[role] = (res.ok, gone, res.stderr.strip()[:300])
        left = {}
        for role in todo:
            det = detect(self.pair.conn(role), self.answers, role, deep="ours")
            be = type(self.backends[role])(det)
            left[role] = be.anything()
            self._evidence(role, "after")
        probes = self._probes_after_removal()
        bad = [r for r in todo if left[r] or not results[r][0]]
        if bad:
            return Outcome(False, "not all removed: " + ", ".join(
                f"{r}: {'still there' if left[r] else 'failed'} ({results[r][2] or results[r][1]})"
                for r in bad), probes, True)
        return Outcome(True, "removed and checked, nothing of dhcp-wizard's left (" + ", ".join(
            f"{r}: {results[r][1]}" for r in todo) + "): " + _probe_summary(probes), probes, True)

    def _probes_after_removal(self) -> list[dict]:
        """What reaches the ports now, as evidence: after the removal the host's own
        firewall decides, so these are recorded, not judged (the claim checked is that
        nothing of ours is left)."""
        try:
            plans = plan_pair(self.answers, self.pair, self.found, {})
        except OperationFailed:
            return []
        probes = verify(self.answers, self.pair, plans, None, ())
        for p in probes:
            p["expect"], p["ok"] = "(the host's own firewall decides)", None
        self.session.event("protect", "probes", probes=probes, judged=False)
        return probes

    # -- the watchdog --------------------------------------------------------------------
    def _arm(self, role: str) -> None:
        conn = self.pair.conn(role)
        backup, restore = self.backends[role].arm_parts()
        res = conn.run(host.arm(backup, restore, self.timeout), privileged=True,
                       label="firewall-arm")
        if not res.ok:
            raise OperationFailed(f"{role}: cannot arm the firewall watchdog: "
                                  f"{res.stderr.strip()}", "nothing was changed on this host")
        self.session.event("protect", "watchdog-armed", host=role, seconds=self.timeout,
                           pid=res.stdout.strip(), method=self.backends[role].name)

    def _apply(self, role: str) -> None:
        be = self.backends[role]
        res = self.pair.conn(role).run(be.apply_sh(self.plans[role]), privileged=True,
                                       label="firewall-apply", timeout=150)
        self.session.event("protect", "applied", host=role, ok=res.ok, method=be.name)
        if not res.ok:
            raise OperationFailed(f"{role}: {be.name} refused the planned rules: "
                                  f"{res.stderr.strip()[:300]}", "this is a bug; report it "
                                  "(the rules as they were have been put back)")

    def _confirm(self, roles: list[str]) -> bool:
        fresh = {}
        try:
            for role in roles:
                try:
                    fresh[role] = self.reconnect(role)
                except Exception as exc:  # noqa: BLE001 - any failure means: not confirmed
                    self.session.event("protect", "confirm-connect-failed", host=role,
                                       error=str(exc)[:200])
                    # Not confirmed anywhere: the reachable hosts go back now, explicitly.
                    self._restore([r for r in roles if r != role], "confirmation impossible")
                    return False
            for role in roles:
                out = fresh[role].run(host.confirm(), privileged=True, label="firewall-confirm")
                self.session.event("protect", "confirm", host=role, result=out.stdout.strip())
                if out.stdout.strip() != "confirmed":
                    self._restore(roles, "confirmation came too late", force=True)
                    return False
            return True
        finally:
            for c in fresh.values():
                c.close()

    def _restore(self, roles: list[str], why: str, force: bool = False) -> None:
        for role in roles:
            conn = self.pair.conn(role)
            try:
                cmd = host.restore_now() if not force else host.restore_again()
                res = conn.run(cmd, privileged=True, label="firewall-restore",
                               timeout=self.backends[role].restore_timeout)
                self.session.event("protect", "restored", host=role, why=why, ok=res.ok)
            except Exception as exc:  # noqa: BLE001 - the watchdog is the fallback
                self.session.event("protect", "restore-failed", host=role, why=why,
                                   error=str(exc)[:200], fallback="watchdog")

    def _await_watchdogs(self, roles: list[str]) -> Outcome:
        self.progress(f"no confirmation: waiting up to {self.timeout:g} s for the watchdogs")
        deadline = time.monotonic() + self.timeout + 10
        states: dict[str, str] = {}
        back: dict[str, bool] = {}
        while time.monotonic() < deadline:
            for role in roles:
                if states.get(role) in ("restored", "restore-failed"):
                    continue
                try:
                    c = self.reconnect(role)
                except Exception:  # noqa: BLE001 - still cut off: try again
                    continue
                try:
                    states[role] = c.run(host.result(), privileged=True).stdout.strip()
                    if states[role] == "restored":
                        now = detect(c, self.answers, role, deep="ours")
                finally:
                    c.close()
                if states[role] == "restored":
                    be, was = type(self.backends[role])(now), self.backends[role]
                    back[role] = be.ours() == was.ours() and now.ours == self.found[role].ours
                    self.session.event("protect", "watchdog-restored", host=role,
                                       back_as_before=back[role], sha256_ours=sha(be.ours()))
            if all(states.get(r) in ("restored", "restore-failed") for r in roles):
                break
            time.sleep(1)
        msg = ", ".join(f"{r}: {states.get(r, 'unreachable')}"
                        + ("" if r not in back else " (as before)" if back[r]
                           else " (BUT NOT as before: look at it)") for r in roles)
        return Outcome(False, "the new rules were not confirmed (they would have cut this "
                       f"wizard's SSH session); the watchdogs put the old rules back ({msg})")


def _probe_summary(probes: list[dict]) -> str:
    return "; ".join(f"{p['from']}->{p['to']}:{p['port']} {p['what']} {p['outcome']} "
                     f"(expected {p['expect']})" for p in probes)
