"""The lab's DHCP client: a real dhclient in the client namespace, as proof of service."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass

from wizard.lab import namespaces as ns
from wizard.lab.hostfs import render
from wizard.lab.spec import LabError, LabSpec


@dataclass(frozen=True)
class LeaseResult:
    address: str
    server: str          # dhcp-server-identifier: which peer answered
    lease_time: int
    mac: str
    elapsed: float       # seconds from start to bound

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def lease(spec: LabSpec, *, timeout: float = 20.0, new_client: bool = False,
          release: bool = True) -> LeaseResult:
    """Obtain a lease with dhclient in the client namespace.

    new_client gives the client a fresh MAC address, so the servers see a client they never
    met (what a failover drill wants to prove). dhclient is stopped afterwards; with
    release the lease is handed back first (DHCPRELEASE), without it the lease is left to
    expire, as a client that goes away without a word leaves it.
    """
    netns = spec.netns("client")
    if not ns.netns_exists(netns):
        raise LabError(f"the lab {spec.name!r} is not up (no namespace {netns})",
                       "run `dhcp-wizard lab up` first")
    d = spec.client_dir
    d.mkdir(parents=True, exist_ok=True)
    results, leases, pidfile = d / "events.jsonl", d / "dhclient.leases", d / "dhclient.pid"
    conf, script = d / "dhclient.conf", d / "dhclient-script"
    ns.write_private(conf, render("dhclient.conf.tmpl", timeout=max(1, int(timeout))))
    ns.write_private(script, render("dhclient-script.tmpl", results=results), mode=0o755)
    _stop(spec, pidfile, leases, conf, script, release=False)
    for stale in (results, leases):
        stale.unlink(missing_ok=True)
    if new_client:
        mac = "02:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(5))
        ns.run(ns.host_command(spec, "client", ["ip", "link", "set", "eth0", "address", mac]))
    mac = ns.run(ns.host_command(spec, "client", ["cat", "/sys/class/net/eth0/address"])).stdout.strip()
    ns.run(ns.host_command(spec, "client", ["ip", "addr", "flush", "dev", "eth0"]))

    start = time.monotonic()
    proc = ns.run(ns.host_command(spec, "client", [
        "dhclient", "-4", "-1", "-v", "-cf", str(conf), "-lf", str(leases), "-pf", str(pidfile),
        "-sf", str(script), "eth0"]), check=False, timeout=timeout + 10, env=ns.clean_env())
    elapsed = time.monotonic() - start
    bound = [e for e in _events(results) if e.get("reason") in ("BOUND", "REBOOT", "RENEW")]
    if proc.returncode != 0 or not bound:
        _stop(spec, pidfile, leases, conf, script, release=False)
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-4:])
        raise LabError(f"no DHCP server gave the lab client a lease within {timeout:.0f} s",
                       "check that dhcpd runs on the lab hosts (`dhcp-wizard lab status`) "
                       f"and is in a state that serves clients; dhclient said:\n{tail}")
    got = bound[-1]
    # dhclient -1 returns as soon as it has forked into the background, and the child writes
    # the pid file a moment later; without waiting, the release below can miss the daemon.
    _wait_for(pidfile, seconds=5)
    result = LeaseResult(address=got["address"], server=got["server"],
                         lease_time=int(got["lease_time"] or 0), mac=mac,
                         elapsed=round(elapsed, 3))
    _stop(spec, pidfile, leases, conf, script, release=release)
    return result


def _wait_for(path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def _stop(spec: LabSpec, pidfile, leases, conf, script, release: bool) -> None:
    if release and leases.exists():
        # -r sends DHCPRELEASE and stops the running dhclient.
        ns.run(ns.host_command(spec, "client", [
            "dhclient", "-4", "-r", "-cf", str(conf), "-lf", str(leases), "-pf", str(pidfile),
            "-sf", str(script), "eth0"]), check=False, timeout=15, env=ns.clean_env())
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().split()[0])
        os.kill(pid, 15)
    except (OSError, ValueError, IndexError):
        pass
    pidfile.unlink(missing_ok=True)


def _events(path) -> list[dict]:
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError):
        return []
