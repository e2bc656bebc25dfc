"""TCP reachability, told apart the way an operator needs it:

- "open": something listens;
- "refused": the host answered with a reset: reachable, nothing listening yet (fine before
  deployment);
- "timeout": no answer at all: a firewall drops it (a failure, with the rule to add);
- "unreachable": no route to the host.

Peer-to-peer probes run ON a peer over SSH with whatever it has (python3, bash /dev/tcp with
timeout, nc), because the failover connection goes between the peers, not from here.
"""

from __future__ import annotations

import errno
import re
import shlex
import socket
from dataclasses import dataclass

PROBE_TIMEOUT = 2.0
OUTCOMES = ("open", "refused", "timeout", "unreachable")


@dataclass(frozen=True)
class ProbeResult:
    source: str        # "primary", "secondary" or "wizard"
    address: str
    port: int
    outcome: str       # one of OUTCOMES, "no-tool" or "error"
    detail: str = ""


def tcp_probe(address: str, port: int, timeout: float = PROBE_TIMEOUT) -> ProbeResult:
    """From this machine."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
        return ProbeResult("wizard", address, port, "open")
    except (socket.timeout, TimeoutError):
        return ProbeResult("wizard", address, port, "timeout")
    except ConnectionRefusedError:
        return ProbeResult("wizard", address, port, "refused")
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return ProbeResult("wizard", address, port, "unreachable", exc.strerror or "")
        if exc.errno == errno.ETIMEDOUT:
            return ProbeResult("wizard", address, port, "timeout")
        return ProbeResult("wizard", address, port, "error", str(exc))
    finally:
        sock.close()


_PY = ("import socket,sys,errno\n"
       "s=socket.socket();s.settimeout(float(sys.argv[3]))\n"
       "try:\n s.connect((sys.argv[1],int(sys.argv[2])));print('open')\n"
       "except socket.timeout:print('timeout')\n"
       "except ConnectionRefusedError:print('refused')\n"
       "except OSError as e:print('unreachable' if e.errno in (errno.EHOSTUNREACH,"
       "errno.ENETUNREACH) else 'timeout' if e.errno==errno.ETIMEDOUT else 'error '+str(e))\n")


def remote_probe_script(address: str, port: int, timeout: float = PROBE_TIMEOUT) -> str:
    h, p, t = shlex.quote(address), int(port), int(max(1, round(timeout)))
    return f"""
if command -v python3 >/dev/null 2>&1; then python3 -c {shlex.quote(_PY)} {h} {p} {t}
elif command -v bash >/dev/null 2>&1 && command -v timeout >/dev/null 2>&1; then
  err=$(timeout {t} bash -c 'exec 3<>/dev/tcp/'{h}'/{p}' 2>&1); rc=$?
  if [ $rc = 0 ]; then echo open; elif [ $rc = 124 ]; then echo timeout
  else case "$err" in *refused*) echo refused;; *unreachable*) echo unreachable;;
       *) echo "error $err";; esac; fi
elif command -v nc >/dev/null 2>&1; then
  err=$(nc -z -v -w {t} {h} {p} 2>&1); rc=$?
  if [ $rc = 0 ]; then echo open
  else case "$err" in *refused*) echo refused;; *unreachable*) echo unreachable;;
       *) echo timeout;; esac; fi
else echo no-tool
fi
"""


def parse_probe_output(stdout: str) -> tuple[str, str]:
    line = (stdout.strip().splitlines() or [""])[-1]
    word, _, rest = line.partition(" ")
    if word in OUTCOMES or word in ("no-tool", "error"):
        return word, rest
    return "error", line or "no output"


def probe_from(conn, address: str, port: int, timeout: float = PROBE_TIMEOUT) -> ProbeResult:
    """From a peer, over its SSH connection."""
    res = conn.run("sh -s", stdin=remote_probe_script(address, port, timeout),
                   timeout=timeout + 5, label=f"probe {address}:{port}")
    if res.timed_out:
        return ProbeResult(conn.role, address, port, "error", "the probe itself timed out")
    outcome, detail = parse_probe_output(res.stdout)
    return ProbeResult(conn.role, address, port, outcome, detail or res.stderr.strip()[:200])


def firewall_fix(source: str | None, port: int, on: str) -> str:
    src_nft = f"ip saddr {source} " if source else ""
    src_ipt = f"-s {source} " if source else ""
    return (f"on {on}, allow it: `nft insert rule inet filter input {src_nft}tcp dport {port} "
            f"accept` (or `iptables -I INPUT -p tcp {src_ipt}--dport {port} -j ACCEPT`), and make "
            "it persistent in your firewall configuration")


def omapi_exposure_fix(port: int, admin: str | None) -> str:
    admin_txt = admin or "ADMIN_HOST"
    return (f"OMAPI has no address ACL: limit tcp/{port} to the admin host, e.g. "
            f"`nft add rule inet filter input tcp dport {port} ip saddr != {admin_txt} drop` "
            f"(or `iptables -A INPUT -p tcp --dport {port} ! -s {admin_txt} -j DROP`)")


def route_source(output: str) -> str | None:
    """The source address in `ip -4 route get ADDR` output (Linux), or None."""
    m = re.search(r"\bsrc (\d+\.\d+\.\d+\.\d+)", output)
    return m.group(1) if m else None


def source_address_from(conn, address: str) -> str | None:
    """The address `conn`'s host sends from when it talks to `address`."""
    res = conn.run(f"ip -4 route get {shlex.quote(address)} 2>/dev/null", timeout=5,
                   label=f"route to {address}")
    return route_source(res.stdout) if res.ok else None
