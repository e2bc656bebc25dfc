"""The proof that failover runs only through the tunnel.

On each peer the failover ports are dropped on the underlay interface (the one that leads to
the partner's endpoint), in an nft table of the proof's own; a connection attempt to the
partner's underlay failover port must then go unanswered (so the drop is known to bite);
for longer than max-response-delay (after which a peer that hears nothing leaves normal) the
pair must stay normal; then the drop is removed. A detached timer on each host deletes the
table by itself should the wizard not come back to do it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from wizard.ops import tunnel_shell as wsh
from wizard.ops.tunnel_conf import failover_sockets

MARGIN = 5          # seconds past max-response-delay
TIMER_SLACK = 60    # the host-side timer removes the drop this long after the hold at most


@dataclass
class ProofResult:
    ok: bool
    held: float
    reason: str
    devices: dict[str, str] = field(default_factory=dict)
    bites: dict[str, str] = field(default_factory=dict)      # role -> dropped/refused/...
    counters: dict[str, list[int]] = field(default_factory=dict)
    sockets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)
    removed: bool = False

    def as_dict(self) -> dict:
        return {"ok": self.ok, "held": round(self.held, 1), "reason": self.reason,
                "devices": self.devices, "bites": self.bites, "counters": self.counters,
                "sockets": {r: [list(c) for c in v] for r, v in self.sockets.items()},
                "states": self.states, "removed": self.removed}


def _bite(text: str) -> str:
    code = text.strip().rpartition("rc=")[2]
    return {"124": "dropped", "1": "refused", "0": "connected"}.get(code, f"exit {code}")


def prove(conns: dict, sides: dict, ports: list[int], reader, max_response_delay: int,
          progress=lambda role, step, msg: None, cancel=None) -> ProofResult:
    hold = max_response_delay + MARGIN
    result = ProofResult(False, 0.0, "")
    other = {"primary": "secondary", "secondary": "primary"}

    def run(role, command, timeout=15, label="tunnel proof"):
        return conns[role].run(command, privileged=True, timeout=timeout, label=label)

    def both(fn):
        with ThreadPoolExecutor(2) as pool:
            futures = {r: pool.submit(fn, r) for r in conns}
        return {r: f.result() for r, f in futures.items()}

    for role in conns:
        dev = run(role, wsh.underlay_dev(sides[other[role]].end.endpoint)).stdout.strip()
        if not dev:
            result.reason = f"{role}: no route to {sides[other[role]].end.endpoint}"
            return result
        result.devices[role] = dev
    try:
        placed = both(lambda r: run(r, wsh.drop_on(result.devices[r], ports,
                                                   hold + TIMER_SLACK)))
        bad = [r for r, res in placed.items() if not res.ok]
        if bad:
            result.reason = "could not put the drop in place on " + ", ".join(
                f"{r} ({placed[r].stderr.strip()[-200:]})" for r in bad)
            return result
        for role in conns:
            progress(role, "proof", f"failover ports {', '.join(map(str, sorted(set(ports))))}"
                     f" dropped on the underlay ({result.devices[role]}), in table "
                     f"inet {wsh.PROOF_TABLE}")
        port_of = dict(zip(("primary", "secondary"), ports))
        result.bites = both(lambda r: _bite(run(r, wsh.try_connect(
            sides[other[r]].end.endpoint, port_of[other[r]])).stdout))
        for role, bite in result.bites.items():
            progress(role, "proof", f"a connection to {sides[other[role]].end.endpoint}:"
                     f"{port_of[other[role]]} over the underlay: {bite}")
        if any(b != "dropped" for b in result.bites.values()):
            result.reason = ("the drop does not bite (" + ", ".join(
                f"{r}: {b}" for r, b in result.bites.items()) + "): the proof would prove "
                "nothing")
            return result
        progress("pair", "proof", f"holding for {hold} s (max-response-delay "
                 f"{max_response_delay} s + {MARGIN} s): the pair must stay normal")
        t0 = time.monotonic()
        last = None
        while True:
            if cancel is not None and cancel.is_set():
                result.reason = "interrupted"
                return result
            samples = reader()
            label = ", ".join(f"{r} {s.state.local_state if s.state else 'unreadable'}"
                              for r, s in samples.items())
            if label != last:
                result.states.append(f"+{time.monotonic() - t0:.1f}s {label}")
                last = label
            result.held = time.monotonic() - t0
            if not all(s.state is not None and s.state.local_state == "normal"
                       for s in samples.values()):
                result.reason = f"the pair left normal {result.held:.1f} s into the drop: {label}"
                return result
            if result.held >= hold:
                break
            time.sleep(0.5)
        tunnel_ips = {s.end.ip for s in sides.values()}
        for role in conns:
            out = run(role, wsh.established(ports)).stdout
            result.sockets[role] = failover_sockets(out, set(ports))
        outside = [c for conns_ in result.sockets.values() for c in conns_
                   if not set(c) <= tunnel_ips]
        if outside or not all(result.sockets.values()):
            result.reason = f"failover connections after the hold: {result.sockets}"
            return result
        result.ok = True
        result.reason = (f"normal throughout {result.held:.0f} s with the failover ports "
                         "dropped on the underlay")
        return result
    finally:
        counted = both(lambda r: run(r, wsh.drop_counters()).stdout)
        result.counters = {r: [int(w) for w in text.split() if w.isdigit()]
                           for r, text in counted.items()}
        removed = both(lambda r: run(r, wsh.undrop()).ok)
        result.removed = all(removed.values())
        for role, ok in removed.items():
            progress(role, "proof", "drop removed" if ok else
                     f"could not remove table inet {wsh.PROOF_TABLE}; its timer removes it "
                     f"within {hold + TIMER_SLACK} s")
