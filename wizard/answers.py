"""The answers file: TOML in, one frozen value object out.

The schema is cli.md's. Every key except the two hosts has a default; unknown keys and wrong
types are refused with the file and the dotted key named, because a typo that silently falls
back to a default is how a failover pair ends up half-configured.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from wizard.errors import InputError
from wizard.pair_rules import check_pair


class HostAnswers(NamedTuple):
    host: str
    user: str | None = None
    port: int | None = None
    identity: str | None = None
    known_hosts: str | None = None
    sudo: bool = False
    config: str | None = None
    restart: str | None = None


class FailoverAnswers(NamedTuple):
    name: str = "failover-partner"
    primary_port: int = 647
    secondary_port: int = 647
    # Addresses the peers use for each other; when absent, the address SSH reached is used.
    primary_address: str | None = None
    secondary_address: str | None = None
    mclt: int = 3600
    split: int | None = 128
    hba: str | None = None
    max_response_delay: int = 60
    max_unacked_updates: int = 10
    load_balance_max_seconds: int = 3
    pools: tuple[str, ...] | None = None


class OmapiAnswers(NamedTuple):
    port: int = 7911
    key_name: str = "omapi_key"
    secret_file: str | None = None


class ChecksAnswers(NamedTuple):
    max_skew_seconds: float = 5.0


class DrillAnswers(NamedTuple):
    # Where proof of service comes from: "lab:NAME" for the built-in lab's client namespace,
    # or an SSH host (issue 5). None means the drill can only say "service not proven".
    probe: str | None = None
    probe_interface: str | None = None


class RelaysAnswers(NamedTuple):
    # DHCP relays in front of remote segments must forward to BOTH peers. `ssh` relays run
    # dhcrelay and are checked over SSH (with [primary]'s user, identity and known_hosts);
    # for the others `check` shows the helper-address lines, and `confirmed` records that the
    # operator put them in place.
    addresses: tuple[str, ...] = ()
    ssh: tuple[str, ...] = ()
    confirmed: tuple[str, ...] = ()


class ProtectAnswers(NamedTuple):
    # Who may reach OMAPI once `protect firewall` has run (CIDRs); empty means the address the
    # wizard's SSH session comes from, as each server sees it.
    admin: tuple[str, ...] = ()
    # Networks the operator vouches for: failover traffic routed only across these needs no
    # tunnel (the guide's closing section). Empty: every routed path is reported untrusted.
    trusted: tuple[str, ...] = ()


class TunnelAnswers(NamedTuple):
    # `protect tunnel`: a WireGuard tunnel for the failover channel. addresses: the primary's
    # and the secondary's tunnel address, "A/P" (one subnet); empty means no tunnel. endpoints:
    # where each peer's WireGuard is reached; default its failover (underlay) address.
    addresses: tuple[str, ...] = ()
    port: int = 51820
    interface: str = "wg-dhcp"
    endpoints: tuple[str, ...] = ()


class Answers(NamedTuple):
    primary: HostAnswers
    secondary: HostAnswers
    failover: FailoverAnswers = FailoverAnswers()
    omapi: OmapiAnswers = OmapiAnswers()
    checks: ChecksAnswers = ChecksAnswers()
    drill: DrillAnswers = DrillAnswers()
    relays: RelaysAnswers = RelaysAnswers()
    protect: ProtectAnswers = ProtectAnswers()
    tunnel: TunnelAnswers = TunnelAnswers()
    source: str | None = None

    def host(self, role: str) -> HostAnswers:
        if role not in ("primary", "secondary"):
            raise ValueError(role)
        return getattr(self, role)

    def with_changes(self, section: str, **changes: Any) -> "Answers":
        return self._replace(**{section: getattr(self, section)._replace(**changes)})


_SECTIONS: dict[str, type] = {
    "primary": HostAnswers,
    "secondary": HostAnswers,
    "failover": FailoverAnswers,
    "omapi": OmapiAnswers,
    "checks": ChecksAnswers,
    "drill": DrillAnswers,
    "relays": RelaysAnswers,
    "protect": ProtectAnswers,
    "tunnel": TunnelAnswers,
}

# TOML type each key must have; int also accepted where a float is expected.
_TYPES: dict[str, type | tuple[type, ...]] = {
    "host": str, "user": str, "port": int, "identity": str, "known_hosts": str, "sudo": bool,
    "config": str, "restart": str, "name": str, "primary_port": int, "secondary_port": int,
    "primary_address": str, "secondary_address": str, "mclt": int, "split": int, "hba": str,
    "max_response_delay": int, "max_unacked_updates": int, "load_balance_max_seconds": int,
    "pools": list, "key_name": str, "secret_file": str, "max_skew_seconds": (int, float),
    "probe": str, "probe_interface": str, "addresses": list, "ssh": list, "confirmed": list,
    "admin": list,
    "trusted": list,
    "interface": str, "endpoints": list,
}

_TYPE_WORDS = {str: "a string", int: "an integer", bool: "true or false", list: "a list",
               (int, float): "a number"}

# dhcpd keeps each of these as an unsigned 32-bit number and silently wraps a larger one
# (`mclt 4294967296` reads as 0); the bounds below are the tighter, operational ones.
FAILOVER_BOUNDS: dict[str, tuple[int, int, int, str]] = {
    # key: (lowest, highest, ISC's guide's value, why the bound)
    "mclt": (1, 86400, 3600,
             "MCLT is how long a recovering peer waits (recover-wait) before it serves again, "
             "and how far a lease may run past what the partner knows; past a day, that wait is "
             "a day-long outage of half the pair"),
    "max_response_delay": (1, 3600, 60,
                           "it is the silence after which a peer treats its partner as "
                           "unreachable; past an hour a dead partner goes unnoticed that long, "
                           "and `deploy` waits 30 s + twice this for normal"),
    "max_unacked_updates": (1, 1000, 10,
                            "it is how many lease updates go out before the partner must "
                            "acknowledge them; a partner that needs more than 1000 in flight is "
                            "not keeping up, and a wider window only hides it"),
    "load_balance_max_seconds": (0, 65535, 3,
                                 "it is compared with the 16-bit `secs` field of a client's "
                                 "request, so a larger value could never apply; 0 makes both "
                                 "servers answer every client that has waited at all"),
}

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PROBE_RE = re.compile(r"^(lab:[a-z][a-z0-9]{0,5}|local:[A-Za-z0-9_.@-]{1,15}|ssh:\S+)$")
_HBA_RE = re.compile(r"^([0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}$")


def load_answers(path: str | Path) -> Answers:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"answers file {path} does not exist",
                         "give the path of a TOML answers file; `dhcp-wizard lab up` writes one "
                         "for the built-in lab") from None
    except OSError as exc:
        raise InputError(f"cannot read answers file {path}: {exc.strerror}") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: UTF-16 text (it starts with a UTF-16 byte-order mark)",
                         "save the answers file as UTF-8")
    try:
        # Windows editors save UTF-8 with a byte-order mark; TOML forbids it, but the text is
        # the same, so it is accepted rather than reported as an invalid first statement.
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text", "save the answers file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}",
                         "compare with the example in the README") from None
    return answers_from_dict(data, source=str(path), base_dir=path.absolute().parent)


def answers_from_dict(data: dict[str, Any], source: str = "<answers>",
                      base_dir: Path | None = None) -> Answers:
    """base_dir: where relative local paths (secret_file, identity, known_hosts) point; the
    answers file's directory. Without one (answers not from a file) they must be absolute."""

    def err(key: str, problem: str, hint: str | None = None) -> InputError:
        return InputError(f"{source}: {key}: {problem}", hint)

    for section in data:
        if section not in _SECTIONS:
            raise err(section, "unknown section",
                      f"known sections are {', '.join('[' + s + ']' for s in _SECTIONS)}")
    for required in ("primary", "secondary"):
        if required not in data:
            raise err(f"[{required}]", "missing section",
                      f'add [{required}] with at least host = "address or ssh alias"')

    built: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise err(section, "must be a table", f"write it as [{section}]")
        known = set(cls._fields)
        values: dict[str, Any] = {}
        for key, value in table.items():
            dotted = f"{section}.{key}"
            if key not in known:
                close = _closest(key, known)
                raise err(dotted, "unknown key",
                          f"did you mean {section}.{close}?" if close else
                          f"known keys in [{section}]: {', '.join(sorted(known))}")
            expected = _TYPES[key]
            ok = isinstance(value, expected) and not (
                expected in (int, (int, float)) and isinstance(value, bool))
            if not ok:
                raise err(dotted, f"must be {_TYPE_WORDS[expected]}, not {type(value).__name__} "
                          f"({value!r})")
            values[key] = value
        _check_section(section, values, err)
        _local_paths(section, values, base_dir, err)
        built[section] = cls(**values)
    answers = Answers(**built, source=source)
    check_pair(answers, err)
    return answers


def _check_section(section: str, v: dict[str, Any], err) -> None:
    def port(key: str) -> None:
        if key in v and not 1 <= v[key] <= 65535:
            raise err(f"{section}.{key}", f"{v[key]} is not a TCP port", "use 1..65535")

    if section in ("primary", "secondary"):
        if "host" not in v or not v["host"].strip():
            raise err(f"{section}.host", "missing",
                      'set host = "address or Host alias from ~/.ssh/config"')
        port("port")
        if v.get("config") is not None and not v["config"].startswith("/"):
            raise err(f"{section}.config", f"{v['config']!r} is not an absolute path",
                      'give the path dhcpd reads, e.g. "/etc/dhcp/dhcpd.conf"')
        if v.get("restart") is not None and not v["restart"].strip():
            raise err(f"{section}.restart", "is empty", "remove it to have it detected")
    elif section == "failover":
        for key in ("primary_port", "secondary_port"):
            port(key)
        if "name" in v and not _NAME_RE.match(v["name"]):
            raise err("failover.name", f"{v['name']!r} is not a usable relationship name",
                      "use letters, digits, '-', '_' and '.'")
        if "hba" in v:
            if "split" in v:
                raise err("failover.split", "split and hba are both set",
                          "dhcpd takes one of them; keep split (simple) or hba, not both")
            if not _HBA_RE.match(v["hba"]):
                raise err("failover.hba", "must be 32 hex bytes separated by ':'")
            v["split"] = None
        if v.get("split") is not None and not 0 <= v["split"] <= 256:
            raise err("failover.split", f"{v['split']} is outside 0..256",
                      "128 balances load evenly; 256 makes the primary answer everything")
        for key, (low, high, usual, why) in FAILOVER_BOUNDS.items():
            if key in v and not low <= v[key] <= high:
                raise err(f"failover.{key}", f"{v[key]} is outside {low}..{high}",
                          f"use {low}..{high} (ISC's guide uses {usual}): {why}")
        for key in ("primary_address", "secondary_address"):
            if key in v and not v[key].strip():
                raise err(f"failover.{key}", "is empty")
        if "pools" in v:
            nets = []
            for item in v["pools"]:
                if not isinstance(item, str):
                    raise err("failover.pools", f"{item!r} is not a string",
                              'write subnets as strings, e.g. ["198.51.100.0/24"]')
                try:
                    nets.append(str(ipaddress.IPv4Network(item, strict=True)))
                except ValueError as exc:
                    raise err("failover.pools", f"{item!r} is not an IPv4 subnet ({exc})",
                              'write network/prefix with host bits zero, e.g. "198.51.100.0/24"')
            v["pools"] = tuple(nets)
    elif section == "relays":
        for key in ("addresses", "ssh", "confirmed"):
            if key in v:
                if not all(isinstance(x, str) and x.strip() for x in v[key]):
                    raise err(f"relays.{key}", "must be a list of non-empty strings",
                              'e.g. ["203.0.113.1", "relay1.example"]')
                v[key] = tuple(v[key])
    elif section == "protect":
        if "admin" in v:
            nets = []
            for item in v["admin"]:
                try:
                    nets.append(str(ipaddress.IPv4Network(item, strict=False)))
                except (ValueError, TypeError) as exc:
                    raise err("protect.admin", f"{item!r} is not an IPv4 address or CIDR ({exc})",
                              'e.g. admin = ["192.0.2.10/32", "198.51.100.0/28"]') from None
            v["admin"] = tuple(nets)
        if "trusted" in v:
            nets = []
            for item in v["trusted"]:
                if not isinstance(item, str):
                    raise err("protect.trusted", f"{item!r} is not a string",
                              'write networks as strings, e.g. ["10.1.0.0/16"]')
                try:
                    nets.append(str(ipaddress.IPv4Network(item.strip(), strict=True)))
                except ValueError as exc:
                    raise err("protect.trusted", f"{item!r} is not an IPv4 network ({exc})",
                              'write network/prefix with host bits zero, e.g. "10.1.0.0/16"; '
                              'a single address as "10.1.2.3/32"') from None
            v["trusted"] = tuple(nets)
    elif section == "tunnel":
        _check_tunnel(v, err)
    elif section == "omapi":
        port("port")
        if "key_name" in v and not _NAME_RE.match(v["key_name"]):
            raise err("omapi.key_name", f"{v['key_name']!r} is not a usable key name",
                      "use letters, digits, '-', '_' and '.'")
    elif section == "drill":
        if "probe" in v and not _PROBE_RE.match(v["probe"]):
            raise err("drill.probe", f"{v['probe']!r} is not a probe",
                      'use "lab:NAME" (the built-in lab), "local:IFACE" (this host is on the '
                      'served segment) or "ssh:HOST" with probe_interface')
        if v.get("probe", "").startswith("ssh:") and not v.get("probe_interface"):
            raise err("drill.probe_interface", "missing for an ssh: probe",
                      'name the probe host\'s interface on the served segment, e.g. "eth0"')
    elif section == "checks":
        if "max_skew_seconds" in v:
            if v["max_skew_seconds"] <= 0:
                raise err("checks.max_skew_seconds", "must be positive")
            if v["max_skew_seconds"] >= 60:
                raise err("checks.max_skew_seconds", f"{v['max_skew_seconds']} s is not a safe limit",
                          "dhcpd refuses a partner whose clock is 60 s or more off; use well below")
            v["max_skew_seconds"] = float(v["max_skew_seconds"])


# wg-quick's own rule for interface names (and Linux's 15-character limit).
_WG_IF_RE = re.compile(r"^[A-Za-z0-9_=+.-]{1,15}$")


def _check_tunnel(v: dict[str, Any], err) -> None:
    example = 'e.g. addresses = ["10.99.0.1/30", "10.99.0.2/30"] (primary first)'
    if "port" in v and not 1 <= v["port"] <= 65535:
        raise err("tunnel.port", f"{v['port']} is not a UDP port", "use 1..65535 (WireGuard's "
                  "usual port is 51820)")
    if "interface" in v and not _WG_IF_RE.match(v["interface"]):
        raise err("tunnel.interface", f"{v['interface']!r} is not a usable interface name",
                  "use 1 to 15 letters, digits or _=+.- (wg-quick's rule), e.g. \"wg-dhcp\"")
    addrs = v.get("addresses", [])
    if not all(isinstance(a, str) for a in addrs):
        raise err("tunnel.addresses", "must be a list of strings", example)
    if addrs and len(addrs) != 2:
        raise err("tunnel.addresses", f"has {len(addrs)} entries, needs two: the primary's "
                  "tunnel address, then the secondary's", example)
    ifaces = []
    for a in addrs:
        if "/" not in a:
            raise err("tunnel.addresses", f"{a!r} has no prefix length",
                      f"write address/prefix, {example}")
        try:
            ifaces.append(ipaddress.IPv4Interface(a))
        except ValueError as exc:
            raise err("tunnel.addresses", f"{a!r} is not an IPv4 address/prefix ({exc})",
                      example) from None
    if ifaces:
        a, b = ifaces
        if a.network.prefixlen > 31:
            raise err("tunnel.addresses", f"/{a.network.prefixlen} leaves no room for two "
                      "peers", "use /30 or wider (or /31)")
        if a.network != b.network:
            raise err("tunnel.addresses", f"{a} and {b} are not in one subnet",
                      "give both the same prefix, inside one subnet: the peers reach each "
                      "other directly over the tunnel")
        if a.ip == b.ip:
            raise err("tunnel.addresses", f"both peers are given {a.ip}",
                      "give each peer its own tunnel address")
        if a.network.prefixlen < 31:
            for x in (a, b):
                if x.ip in (x.network.network_address, x.network.broadcast_address):
                    raise err("tunnel.addresses", f"{x.ip} is the network or broadcast "
                              f"address of {x.network}", "pick host addresses inside it")
        v["addresses"] = [str(x) for x in ifaces]
    ends = v.get("endpoints", [])
    if ends:
        if not addrs:
            raise err("tunnel.endpoints", "is set without tunnel.addresses", example)
        if len(ends) != 2 or not all(isinstance(e, str) and e.strip() for e in ends):
            raise err("tunnel.endpoints", "needs two non-empty strings: where the primary's "
                      "WireGuard is reached, then the secondary's",
                      'e.g. ["192.0.2.10", "198.51.100.20"]; leave it out to use the failover '
                      "addresses")
    if "addresses" in v:
        v["addresses"] = tuple(v["addresses"])
    if "endpoints" in v:
        v["endpoints"] = tuple(e.strip() for e in ends)


def _local_paths(section: str, v: dict[str, Any], base_dir: Path | None, err) -> None:
    """Paths on this machine, made absolute against the answers file's directory: the same
    file must mean the same secret and keys from whatever directory the command runs in (a
    secret_file read against the working directory silently made a second key)."""
    for key in ("identity", "known_hosts", "secret_file"):
        if v.get(key) is None:
            continue
        path = os.path.expanduser(v[key])
        if not os.path.isabs(path):
            if base_dir is None:
                if key != "secret_file":
                    continue  # resolved by ssh as before; a wrong one fails loudly there
                raise err(f"{section}.{key}", f"{v[key]!r} is not an absolute path",
                          "without an answers file there is nothing to be relative to: give "
                          "the full path")
            path = os.path.join(base_dir, path)
        v[key] = os.path.normpath(path)
    if section == "omapi" and v.get("secret_file"):
        _check_secret_file(v["secret_file"], err)


def _check_secret_file(path: str, err) -> None:
    # Checked now, not when the secret is written: `plan` would otherwise read both servers
    # over SSH first and only then find it cannot store the key it generated.
    if os.path.isdir(path):
        raise err("omapi.secret_file", f"{path} is a directory",
                  "name the file that holds (or will hold) the secret, e.g. DIR/omapi.secret")
    if os.path.exists(path):
        return
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise err("omapi.secret_file", f"the directory {parent} does not exist",
                  f"create it (mkdir -p {parent}) or point secret_file elsewhere; the secret is "
                  "generated there (mode 0600) when the file is absent")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise err("omapi.secret_file", f"{path} does not exist and {parent} is not writable, "
                  "so a generated secret could not be kept",
                  "point secret_file at a writable directory, or create the file with the "
                  "base64 secret in it")


def _closest(word: str, candidates: set[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return match[0] if match else None


def dump_answers(answers: Answers) -> str:
    """TOML text for answers, as the TUI saves them for `deploy` and `check`."""
    out: list[str] = []
    for section in _SECTIONS:
        obj = getattr(answers, section)
        if section == "tunnel" and not obj.addresses:
            continue    # no tunnel: nothing to say, and older readers see no new section
        lines = []
        for name in obj._fields:
            value = getattr(obj, name)
            if value is None:
                continue
            lines.append(f"{name} = {_toml_value(value)}")
        if lines:
            out.append(f"[{section}]")
            out.extend(lines)
            out.append("")
    return "\n".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
