"""A DHCP client in one stdlib file: DISCOVER, REQUEST, ACK, RELEASE on one interface.

It is run as a program, on the wizard host or piped to `python3 -` on a probe host over
SSH, so a real network gets proof of service without installing anything there. A fresh
random MAC each run makes it a client the servers never saw. With `release` the lease is
handed back at the end; with `keep` (what the drill uses) it is left to expire, since a release
the survivor receives while its partner is shut down makes the returning partner wait out MCLT. Needs root (port 68, SO_BINDTODEVICE). Prints one JSON object.

    python3 dhcp_probe_script.py IFACE [TIMEOUT] [release|keep]
"""

import json
import os
import random
import select
import socket
import struct
import sys
import time

MAGIC = b"\x63\x82\x53\x63"
DISCOVER, OFFER, REQUEST, ACK, NAK, RELEASE = 1, 2, 3, 5, 6, 7


def packet(kind, xid, mac, requested=None, server=None, ciaddr="0.0.0.0"):
    head = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                       socket.inet_aton(ciaddr), b"\0" * 4, b"\0" * 4, b"\0" * 4,
                       mac + b"\0" * 10, b"", b"")
    opts = bytes([53, 1, kind]) + bytes([61, 7, 1]) + mac
    if requested:
        opts += bytes([50, 4]) + socket.inet_aton(requested)
    if server:
        opts += bytes([54, 4]) + socket.inet_aton(server)
    opts += bytes([55, 4, 1, 3, 51, 54, 255])
    return head + MAGIC + opts


def parse(data, xid):
    if len(data) < 240 or data[236:240] != MAGIC:
        return None
    if struct.unpack("!I", data[4:8])[0] != xid or data[0] != 2:
        return None
    out = {"yiaddr": socket.inet_ntoa(data[16:20])}
    i = 240
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, length = data[i], data[i + 1]
        value = data[i + 2:i + 2 + length]
        if code == 53:
            out["type"] = value[0]
        elif code == 54:
            out["server"] = socket.inet_ntoa(value)
        elif code == 51:
            out["lease_time"] = struct.unpack("!I", value)[0]
        i += 2 + length
    return out


def wait_for(sock, xid, kinds, deadline):
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            return None
        reply = parse(sock.recv(4096), xid)
        if reply and reply.get("type") in kinds:
            return reply


def main():
    iface = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    release = (sys.argv[3] if len(sys.argv) > 3 else "release") != "keep"
    mac = bytes([0x02]) + os.urandom(5)
    xid = random.getrandbits(32)
    result = {"interface": iface, "mac": ":".join(f"{b:02x}" for b in mac)}
    start = time.monotonic()
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
        sock.bind(("0.0.0.0", 68))
    except OSError as exc:
        result["error"] = f"cannot listen as a DHCP client on {iface}: {exc.strerror or exc}"
        print(json.dumps(result))
        return 2
    try:
        return exchange(sock, iface, xid, mac, start, timeout, release, result)
    except OSError as exc:  # the interface went away or lost its address meanwhile
        result["error"] = f"the DHCP exchange on {iface} broke off: {exc.strerror or exc}"
        print(json.dumps(result))
        return 2


def exchange(sock, iface, xid, mac, start, timeout, release, result) -> int:
    deadline = start + timeout
    offer = None
    while offer is None and time.monotonic() < deadline:
        sock.sendto(packet(DISCOVER, xid, mac), ("255.255.255.255", 67))
        offer = wait_for(sock, xid, {OFFER}, min(deadline, time.monotonic() + 2))
    if offer is None:
        result["error"] = f"no DHCP server offered an address within {timeout:g} s"
        print(json.dumps(result))
        return 1
    sock.sendto(packet(REQUEST, xid, mac, offer["yiaddr"], offer.get("server")),
                ("255.255.255.255", 67))
    ack = wait_for(sock, xid, {ACK, NAK}, deadline)
    result["offered_by"] = offer.get("server")
    if ack is None or ack.get("type") == NAK:
        result["error"] = ("the server refused the request (NAK)" if ack else
                           "offer received, but no ACK to the request")
        print(json.dumps(result))
        return 1
    result.update(address=ack["yiaddr"], server=ack.get("server"),
                  lease_time=ack.get("lease_time"), elapsed=round(time.monotonic() - start, 3))
    if release:
        # Hand the address back at once: a probe should not hold addresses from the pool.
        sock.sendto(packet(RELEASE, xid, mac, server=ack.get("server"), ciaddr=ack["yiaddr"]),
                    ("255.255.255.255", 67))
    result["released"] = release
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
