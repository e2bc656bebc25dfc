"""Rules across the sections of the answers: one machine named for both roles, and ports
that collide. Each is caught here because dhcpd accepts them: the pair starts, and fails only
where nobody looks (a peer talking to itself, a failover listener that never opens).

Only what is cheap and certain is compared: the names as written (case and a trailing dot
aside), IP addresses in their canonical form, and, where the caller has resolved them already,
the SSH targets of ~/.ssh/config. No DNS lookup: one that hangs would hang `plan --from` too.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Callable

from wizard.errors import InputError


Err = Callable[..., InputError]

TWO_SERVERS = ("failover needs two servers: set [secondary] host to the other machine's "
               "address or ~/.ssh/config alias")


def same_host(a: str, b: str) -> bool:
    return _canonical(a) == _canonical(b)


def _canonical(host: str) -> str:
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


# What dhcpd reads after `address` / `peer address` as a host name: dotted labels (its lexer
# takes letters, digits, '-' and '_'), an optional final dot.
_HOST_NAME = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?\Z")


def failover_address_problem(text: str) -> str | None:
    """Why text cannot be written as a failover address in dhcpd.conf, or None. The plan
    writes it as it is: anything but an IPv4 address or a host name would break the peer
    block (a `;` in it even adds statements of its own)."""
    labels = text.rstrip(".").split(".")
    if len(labels) > 1 and all(x.isascii() and x.isdigit() for x in labels[:2]):
        # dhcpd reads a number, a dot and a number as the start of an address (parse.c,
        # parse_ip_addr_or_hostname): four numbers or nothing.
        if len(labels) == 4 and not text.endswith(".") and all(
                x.isascii() and x.isdigit() and int(x) <= 255 for x in labels):
            return None
        return "is not an IPv4 address (dhcpd wants four numbers 0-255 with dots)"
    if ":" in text:
        return "is an IPv6 address, and dhcpd's failover speaks IPv4 only"
    if not _HOST_NAME.match(text):
        return "is neither an IPv4 address nor a host name"
    return None


def check_pair(answers, err: Err | None = None) -> None:
    """Raise the InputError of the first rule the answers break; err(key, problem, hint)
    builds it (answers_from_dict's names the file)."""
    err = err or (lambda key, problem, hint=None:
                  InputError(f"{answers.source or '<answers>'}: {key}: {problem}", hint))
    p, s, fo = answers.primary, answers.secondary, answers.failover
    if same_host(p.host, s.host) and p.port == s.port:
        raise err("secondary.host", f"{s.host!r} is the same host as primary.host ({p.host!r})",
                  TWO_SERVERS)
    for role, key in (("primary", "primary_port"), ("secondary", "secondary_port")):
        port = getattr(fo, key)
        if port == answers.omapi.port:
            raise err(f"failover.{key}",
                      f"{port} is also omapi.port: the {role}'s dhcpd would give it to OMAPI "
                      "and have no failover listener",
                      "give them different ports: 647 is the IANA failover port, 7911 the "
                      "usual OMAPI port")
    p_addr, s_addr = fo.primary_address or p.host, fo.secondary_address or s.host
    if fo.primary_port == fo.secondary_port and same_host(p_addr, s_addr):
        raise err("failover.secondary_port",
                  f"{fo.secondary_port} is also failover.primary_port, and both peers' failover "
                  f"address is {s_addr}: one listener cannot be both peers",
                  "give each peer its own address (failover.primary_address, "
                  "failover.secondary_address) or its own port")
    for role, key, given in (("primary", "primary_address", fo.primary_address),
                             ("secondary", "secondary_address", fo.secondary_address)):
        address = given or getattr(answers, role).host
        problem = failover_address_problem(address)
        if problem is None:
            continue
        if given:
            raise err(f"failover.{key}", f"{address!r} {problem}",
                      f"give the {role}'s IPv4 address (or a host name that resolves to it)")
        raise err(f"{role}.host", f"{address!r} is the {role}'s failover address too "
                  f"(failover.{key} is not set), but it {problem}",
                  f"set failover.{key} to the {role}'s IPv4 address on the failover link")
