"""`protect tunnel` as one transaction: the tunnel and the configs that use it go in together
or not at all.

It is the config transaction (wizard.ops.transaction) with the tunnel woven into its phases:
prepare also makes each host's key pair (on the host; only the public key comes back); arm
also hands each guard the undo that takes the tunnel down and removes its files; after the
switch and before the restart, both hosts bring the tunnel up and must complete a WireGuard
handshake (dhcpd cannot bind a tunnel address that is not there yet); after normal and the
settle, the failover connections must run between the tunnel addresses. Any failure rolls
both back through the guards, which restore the configs, run the undo and restart dhcpd; a
wizard killed on the way is covered by the same guards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from wizard.ops import tunnel_shell as wsh
from wizard.ops.tunnel_conf import TunnelEnd, failover_sockets, handshakes, render, valid_key
from wizard.ops.transaction import StepFailed, Transaction, _Abort, _reasons
from wizard.remote import guard

HANDSHAKE_TIMEOUT = 15.0


@dataclass
class TunnelSide:
    end: TunnelEnd
    peer: TunnelEnd
    impl: str               # kernel | userspace
    manager: str            # systemd | "" (wg-quick by hand)
    made_dir: bool          # /etc/wireguard did not exist before
    public_key: str = ""
    conf: str = ""

    @property
    def undo(self) -> str:
        return wsh.down(self.end, self.impl, self.manager, self.made_dir)


def side_problem(role: str, found: dict[str, list[str]], end: TunnelEnd) -> str | None:
    """Why this host cannot take the tunnel, or None (from tunnel_shell.inspect's output)."""
    if found.get("missing"):
        return (f"{role}: {', '.join(found['missing'])} not installed: install wireguard-tools "
                "(and iproute2) there")
    if found.get("conf") or found.get("link"):
        return (f"{role}: {end.conf_path} or the interface {end.interface} exists already: "
                "remove it, or name another [tunnel] interface")
    if found.get("port"):
        return (f"{role}: UDP port {end.port} is taken there: set another [tunnel] port, or "
                "free it")
    if found.get("impl", ["none"])[0] == "none":
        return (f"{role}: no WireGuard there: the kernel has no wireguard module and "
                "wireguard-go is not installed; install one of them")
    return None


class TunnelTransaction(Transaction):
    def __init__(self, targets, sides: dict[str, TunnelSide], *,
                 handshake_timeout: float = HANDSHAKE_TIMEOUT, failover_ports=(), **kw):
        super().__init__(targets, **kw)
        self.sides = sides
        self.handshake_timeout = handshake_timeout
        self.ports = {int(p) for p in failover_ports}
        self.sockets: dict[str, list[tuple[str, str]]] = {}

    def _partner(self, role: str) -> TunnelSide:
        return self.sides["secondary" if role == "primary" else "primary"]

    # -- prepare: the key pair, made on the host ------------------------------------------
    def _prepare(self, tgt) -> None:
        side = self.sides[tgt.role]
        found = wsh.parse_inspect(self._run(tgt, wsh.inspect(side.end),
                                            label="wg inspect").stdout)
        problem = side_problem(tgt.role, found, side.end)
        if problem:
            raise StepFailed(tgt.role, problem.split(": ", 1)[1])
        super()._prepare(tgt)
        self._check_cancel("prepare")
        # Registered first, so an abort removes even a half-written key.
        self._run(tgt, guard.add_tmp(tgt.stamp, wsh.key_tmp(tgt.stamp)), label="upload")
        res = self._run(tgt, wsh.genkey(tgt.stamp), label="wg genkey")
        lines = res.stdout.strip().splitlines()
        pub = lines[-1].strip() if lines else ""
        if not res.ok or not valid_key(pub):
            raise StepFailed(tgt.role, "could not generate its WireGuard key",
                             res.stderr.strip()[-300:])
        side.public_key = pub
        self._say(tgt.role, "wg-key", f"key pair generated on the host; public key {pub}")

    # -- arm: the guard learns how to take the tunnel back ---------------------------------
    def _arm(self, tgt) -> None:
        super()._arm(tgt)
        res = self._run(tgt, wsh.set_undo(tgt.stamp, self.sides[tgt.role].undo), label="arm")
        if not res.ok:
            raise StepFailed(tgt.role, "could not give its guard the tunnel's undo",
                             res.stderr.strip())

    # -- after the switch: the tunnel up and a handshake, then the restarts ----------------
    def _restart_and_watch(self):
        brought = self._both(self._install_and_up)
        failed = {r: e for r, e in brought.items() if isinstance(e, Exception)}
        if failed:
            raise _Abort("tunnel", _reasons(failed))
        self._await_handshakes()
        return super()._restart_and_watch()

    def _install_and_up(self, tgt) -> None:
        side, peer = self.sides[tgt.role], self._partner(tgt.role)
        side.conf = render(side.end, peer.end, peer.public_key)
        res = self._run(tgt, wsh.install(side.end, tgt.stamp), stdin=side.conf,
                        label="wg install")
        if not res.ok:
            raise StepFailed(tgt.role, f"could not write {side.end.conf_path}",
                             res.stderr.strip()[-300:])
        self._check_cancel("tunnel")
        res = self._run(tgt, wsh.up(side.end, side.impl, side.manager), label="wg up",
                        timeout=30)
        if not res.ok:
            raise StepFailed(tgt.role, f"the tunnel did not come up "
                             f"(`{wsh.up_command(side.end, side.impl, side.manager)}` exited "
                             f"{res.exit_code})", (res.stdout + res.stderr).strip()[-400:])
        self._say(tgt.role, "tunnel-up", f"{side.end.interface} up with {side.end.address}: "
                  f"{side.impl} WireGuard, `{wsh.up_command(side.end, side.impl, side.manager)}`")

    def _await_handshakes(self) -> None:
        t0 = time.monotonic()
        deadline = t0 + self.handshake_timeout
        done: set[str] = set()
        while True:
            self._check_cancel("tunnel")
            self._health()
            for role, tgt in self.t.items():
                if role in done:
                    continue
                side, peer = self.sides[role], self._partner(role)
                try:
                    res = self._run(tgt, wsh.handshake(side.end, peer.end), label="wg handshake",
                                    timeout=5, quiet=True)
                except StepFailed:
                    continue
                if handshakes(res.stdout).get(peer.public_key, 0) > 0:
                    done.add(role)
            if len(done) == len(self.t):
                self._say("pair", "handshake", f"WireGuard handshake on both after "
                          f"{time.monotonic() - t0:.1f} s")
                return
            if time.monotonic() > deadline:
                missing = [r for r in self.t if r not in done]
                hint = "; ".join(f"{r} expects its partner at {self._partner(r).end.endpoint}:"
                                 f"{self._partner(r).end.port}" for r in missing)
                raise _Abort("tunnel", f"no WireGuard handshake within "
                             f"{self.handshake_timeout:.0f} s on {', '.join(missing)} ({hint}): "
                             "UDP between the endpoints is blocked, or an endpoint is wrong "
                             "([tunnel] endpoints)")
            time.sleep(0.5)

    # -- before the commit: the failover connections use the tunnel -------------------------
    def _settle(self, waited) -> None:
        super()._settle(waited)
        deadline = time.monotonic() + 5
        while True:
            self._check_cancel("settle")
            seen = {}
            for role, tgt in self.t.items():
                res = self._run(tgt, wsh.established(sorted(self.ports)), label="ss", quiet=True)
                seen[role] = failover_sockets(res.stdout, self.ports)
            self.sockets = seen
            tunnel_ips = {s.end.ip for s in self.sides.values()}
            outside = {r: [c for c in conns if not set(c) <= tunnel_ips]
                       for r, conns in seen.items()}
            if any(outside.values()):
                raise _Abort("tunnel", "failover still runs outside the tunnel: " + "; ".join(
                    f"{r} {a} <-> {b}" for r, conns in outside.items() for a, b in conns))
            if all(seen.values()):
                self._say("pair", "over-tunnel", "failover connections: " + "; ".join(
                    f"{r} {a} <-> {b}" for r, conns in seen.items() for a, b in conns))
                return
            if time.monotonic() > deadline:
                raise _Abort("tunnel", "no established failover connection on the tunnel "
                             "addresses: " + ", ".join(r for r, c in seen.items() if not c))
            time.sleep(0.5)

    # -- rollback: the guard ran the undo; see that the tunnel is gone ---------------------
    def _rollback(self, tgt) -> dict:
        out = super()._rollback(tgt)
        side = self.sides[tgt.role]
        res = self._run(tgt, f"ip link show {wsh.q(side.end.interface)} >/dev/null 2>&1 && "
                        f"echo link; [ -e {wsh.q(side.end.conf_path)} ] && echo conf; true",
                        label="verify", reconnect=True)
        left = res.stdout.split()
        if left:
            # The guard's undo did not finish (it cannot fail the restore): run it again.
            again = self._run(tgt, side.undo, label="wg down", reconnect=True, timeout=30)
            if not again.ok:
                raise StepFailed(tgt.role, f"the tunnel is still there after the rollback "
                                 f"({', '.join(left)})", again.stderr.strip()[-300:])
        out["tunnel_removed"] = True
        self._say(tgt.role, "tunnel-down", f"{side.end.interface} down, its files removed")
        return out
