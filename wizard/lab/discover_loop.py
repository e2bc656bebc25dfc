"""A DISCOVER every few seconds on one interface, one JSON line per request: the child
process of wizard.lab.continuity, run inside the lab's client namespace.

Each request is a new client (fresh MAC and xid) that sends DHCPDISCOVER and collects the
DHCPOFFERs for its xid until its window closes. It never sends REQUEST, so no lease is
committed and the pool is not drained however long it runs. Requests overlap when the
window is longer than the interval; replies are told apart by xid.

    python -m wizard.lab.discover_loop IFACE EVERY COUNT WINDOW SEED

Prints {"ready": true} once listening (or {"error": ...} and exits 2), then one line per
request when its window closes. Stops sending at COUNT or when stdin closes, and reports the
requests still open once their windows have passed, so every request sent is reported.
"""

from __future__ import annotations

import hashlib
import json
import random
import select
import socket
import sys
import time

from wizard.remote.dhcp_probe_script import DISCOVER, OFFER, packet, parse


def _listen(iface: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    sock.bind(("0.0.0.0", 68))
    return sock


def identities(seed: str, n: int = 8) -> list[bytes]:
    """n locally administered MACs that depend only on seed: the same seed (one per lab)
    gives the same clients on every run, so the servers re-offer the same n addresses."""
    return [b"\x02" + hashlib.sha256(f"{seed}/{i}".encode()).digest()[:5] for i in range(n)]


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _close(req: dict) -> None:
    _emit({"seq": req["seq"], "t": req["t"], "answered": bool(req["servers"]),
           "servers": req["servers"], "latency": req["latency"], "address": req["address"],
           "error": req["error"]})


def main(argv: list[str]) -> int:
    iface, every, count, window = argv[0], float(argv[1]), int(argv[2]), float(argv[3])
    macs = identities(argv[4])
    try:
        sock = _listen(iface)
    except OSError as exc:
        _emit({"error": f"cannot listen as a DHCP client on {iface}: {exc.strerror or exc}"})
        return 2
    _emit({"ready": True})
    open_reqs: dict[int, dict] = {}     # xid -> request whose window is still open
    start = time.monotonic()
    sent = 0
    stdin_open = True
    while True:
        now = time.monotonic()
        for xid, req in sorted(open_reqs.items(), key=lambda kv: kv[1]["seq"]):
            if now >= req["mono"] + window:
                _close(open_reqs.pop(xid))
        if sent >= count or not stdin_open:
            if not open_reqs:
                return 0
            next_send = float("inf")
        else:
            next_send = start + sent * every
        if now >= next_send:
            mac, xid = macs[sent % len(macs)], random.getrandbits(32)
            req = {"seq": sent, "t": time.time(), "mono": now, "servers": [], "latency": None,
                   "address": None, "error": None}
            try:
                sock.sendto(packet(DISCOVER, xid, mac), ("255.255.255.255", 67))
            except OSError as exc:
                req["error"] = f"send failed: {exc.strerror or exc}"
            open_reqs[xid] = req
            sent += 1
            continue
        wake = min([next_send] + [r["mono"] + window for r in open_reqs.values()])
        watch = [sock] + ([sys.stdin] if stdin_open else [])
        ready, _, _ = select.select(watch, [], [], max(0.0, wake - time.monotonic()))
        if sys.stdin in ready and not sys.stdin.buffer.read1(4096):
            stdin_open = False      # the parent wants us to stop
        if sock in ready:
            data = sock.recv(4096)
            arrived = time.monotonic()
            xid = int.from_bytes(data[4:8], "big") if len(data) >= 8 else None
            req = open_reqs.get(xid)
            reply = parse(data, xid) if req else None
            if reply and reply.get("type") == OFFER:
                server = reply.get("server") or "?"
                if server not in req["servers"]:
                    req["servers"].append(server)
                if req["latency"] is None:
                    req["latency"] = round(arrived - req["mono"], 4)
                    req["address"] = reply.get("yiaddr")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
