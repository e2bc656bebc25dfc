"""The lab's client segment as a vantage point of the exposure check: TCP connects made from
inside the client namespace, from an address on the served segment, as a client's would be.

The namespace has no address between leases, so one outside the pool is added for the
probes, with a 30 s lifetime: the kernel removes it by itself should this process die before
it does (kill -9), and a leftover never outlives a check. An address the client already
holds (a lease) is used as it is.
"""

from __future__ import annotations

import json
import sys

from wizard.checks.vantage import CLIENT

LIFETIME = 30

_PROBE = r"""
import json, socket, sys, errno
from concurrent.futures import ThreadPoolExecutor
targets, timeout = json.loads(sys.argv[1]), float(sys.argv[2])
def one(t):
    s = socket.socket(); s.settimeout(timeout)
    try:
        s.connect((t[0], t[1])); return ["open", ""]
    except socket.timeout: return ["timeout", ""]
    except ConnectionRefusedError: return ["refused", ""]
    except OSError as e:
        if e.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH): return ["unreachable", str(e)]
        return ["timeout", ""] if e.errno == errno.ETIMEDOUT else ["error", str(e)]
    finally: s.close()
with ThreadPoolExecutor(max(1, len(targets))) as pool:
    print(json.dumps(list(pool.map(one, targets))))
"""


class LabClientVantage:
    kind = CLIENT

    def __init__(self, lab_name: str):
        from wizard.lab.lifecycle import existing_spec

        self.spec = existing_spec(lab_name)
        self.name = f"lab client {self.spec.netns('client')}"
        self._source: str | None = None

    def probe(self, targets, timeout):
        from wizard.lab import namespaces as ns
        from wizard.lab.spec import LabError

        spec = self.spec
        if not ns.netns_exists(spec.netns("client")):
            raise LabError(f"the lab {spec.name!r} is not up (no namespace "
                           f"{spec.netns('client')})")
        net = spec.served_network
        address = str(net.broadcast_address - 1)      # the pool ends 8 below the broadcast
        added = []
        shown = ns.run(ns.host_command(spec, "client", ["ip", "-4", "-o", "addr", "show",
                                                        "dev", "eth0"]), check=False).stdout
        held = [w.split("/")[0] for w in shown.split() if "/" in w and "." in w]
        if held:
            address = held[0]
        else:
            ns.run(ns.host_command(spec, "client", [
                "ip", "addr", "add", f"{address}/{net.prefixlen}", "dev", "eth0",
                "valid_lft", str(LIFETIME), "preferred_lft", str(LIFETIME)]))
            added.append(["ip", "addr", "del", f"{address}/{net.prefixlen}", "dev", "eth0"])
        try:
            routes = ns.run(ns.host_command(spec, "client", ["ip", "-4", "route", "show",
                                                             "default"]), check=False).stdout
            if not routes.strip() and spec.client_gateway != address:
                ns.run(ns.host_command(spec, "client", [
                    "ip", "route", "add", "default", "via", spec.client_gateway, "src",
                    address]), check=False)
            self._source = address
            pairs = [[t.address, t.port] for t in targets]
            proc = ns.run(ns.host_command(spec, "client", [
                sys.executable, "-c", _PROBE, json.dumps(pairs), str(timeout)]),
                check=False, timeout=timeout + 10)
            try:
                return [tuple(x) for x in json.loads(proc.stdout.strip().splitlines()[-1])]
            except (ValueError, IndexError):
                raise LabError(f"the probes in {spec.netns('client')} gave no result: "
                               f"{proc.stderr.strip()[:300]}") from None
        finally:
            for argv in added:     # the default route through it goes with the address
                ns.run(ns.host_command(spec, "client", argv), check=False)

    def source(self):
        return self._source


def find(answers) -> list:
    """The lab's client segment, for answers whose drill probe is that lab's client."""
    probe = answers.drill.probe or ""
    if not probe.startswith("lab:"):
        return []
    return [LabClientVantage(probe.partition(":")[2])]


def register() -> None:
    from wizard.checks.vantage import register as add_finder

    add_finder("lab", find)
