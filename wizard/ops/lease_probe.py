"""The drill's proof of service: something that asks for a DHCP lease as a real client and
says which server answered. Built in: the wizard host itself (local:IFACE) and a probe host
over SSH (ssh:HOST); other kinds (the lab's client) are plugged in by the front end with
register(), so the core never imports them.
"""

from __future__ import annotations

from typing import Callable, Protocol

from wizard.errors import OperationFailed


class LeaseProbe(Protocol):
    """Something that can ask for a DHCP lease as a real client and say who answered."""

    def describe(self) -> str: ...

    def obtain(self, timeout: float) -> dict: ...


# kind -> factory(the text after "kind:"); filled by register().
KINDS: dict[str, Callable[[str], "LeaseProbe"]] = {}


def register(kind: str, factory: Callable[[str], "LeaseProbe"]) -> None:
    KINDS[kind] = factory


class ScriptProbe:
    """wizard/dhcp_probe_script.py as a real client: DISCOVER, REQUEST, ACK, and a RELEASE
    only when asked: the drill's proof keeps its lease (see the script's docstring)."""

    release = False

    def __init__(self, interface: str, where: str):
        self.interface, self.where = interface, where

    @property
    def end(self) -> str:
        return "release" if self.release else "keep"

    def describe(self) -> str:
        return f"a DHCP client on {self.where} ({self.interface})"

    def _run(self, script: str, timeout: float) -> tuple[int | None, str, str]:
        raise NotImplementedError

    def obtain(self, timeout: float) -> dict:
        import json
        from pathlib import Path

        script = (Path(__file__).parents[1] / "remote" / "dhcp_probe_script.py").read_text()
        code, out, err = self._run(script, timeout)
        try:
            result = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise OperationFailed(f"the DHCP probe on {self.where} gave no result "
                                  f"(exit {code}): {err.strip()[:300]}",
                                  "it needs python3 and root (or sudo) there") from None
        if "error" in result:
            raise OperationFailed(f"{self.describe()}: {result['error']}")
        return result


class LocalProbe(ScriptProbe):
    """The wizard host itself, when it sits on the served segment."""

    def __init__(self, interface: str, found_on: str | None = None):
        super().__init__(interface, "this host")
        self.found_on = found_on      # the served subnet it was found on, when not configured

    def describe(self) -> str:
        if self.found_on is None:
            return super().describe()
        return (f"a DHCP client on this host ({self.interface}, which sits on the served subnet "
                f"{self.found_on}; found by itself, no [drill] probe configured)")

    def _run(self, script, timeout):
        import subprocess
        import sys

        proc = subprocess.run([sys.executable, "-", self.interface, str(timeout), self.end], input=script,
                              capture_output=True, text=True, timeout=timeout + 10)
        return proc.returncode, proc.stdout, proc.stderr


class SshProbe(ScriptProbe):
    """A probe host on the served segment, reached over SSH like the servers."""

    def __init__(self, host_answers, interface: str, session=None):
        super().__init__(interface, host_answers.host)
        self.host_answers, self.session = host_answers, session

    def _run(self, script, timeout):
        import shlex

        from wizard.remote.ssh import connect
        from wizard.remote.ssh_config import resolve_host

        conn = connect("probe", resolve_host(self.host_answers), sudo=self.host_answers.sudo,
                       session=self.session)
        try:
            res = conn.run(f"python3 - {shlex.quote(self.interface)} {timeout:g} {self.end}", stdin=script,
                           privileged=True, timeout=timeout + 10, label="dhcp probe")
        finally:
            conn.close()
        return res.exit_code, res.stdout, res.stderr


def probe_from_answers(answers, session=None) -> LeaseProbe | None:
    """[drill] probe: "lab:NAME", "local:IFACE" or "ssh:HOST" (with probe_interface)."""
    probe = answers.drill.probe
    if not probe:
        return None
    kind, _, rest = probe.partition(":")
    if kind in KINDS:
        return KINDS[kind](rest)
    if kind == "lab":
        raise OperationFailed(f"[drill] probe {probe!r} needs the built-in lab, which this "
                              "program did not load", "run the drill with `dhcp-wizard`, or "
                              'name another probe ("local:IFACE" or "ssh:HOST")')
    if kind == "local":
        return LocalProbe(rest)
    # The probe host is reached as the primary is: same user, key, known_hosts and sudo.
    host = answers.primary._replace(host=rest, port=None, config=None, restart=None)
    return SshProbe(host, answers.drill.probe_interface, session)


def local_interfaces() -> list[tuple[str, str]]:
    """(interface, address/prefix) of this host's IPv4 addresses; empty when `ip` cannot say."""
    import json
    import subprocess

    try:
        out = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True,
                             timeout=5).stdout
        links = json.loads(out or "[]")
    except (OSError, ValueError, subprocess.SubprocessError):
        return []
    return [(link["ifname"], f"{a['local']}/{a['prefixlen']}") for link in links
            for a in link.get("addr_info", []) if a.get("family") == "inet"]


def served_leg(served: list[str], interfaces: list[tuple[str, str]],
               servers: list[str] = ()) -> tuple[str, str] | None:
    """(interface, subnet) where this host has an address inside a subnet the pair serves
    (one with a pool), or None. A subnet a server has an address in comes first: there a
    client's broadcast reaches the servers themselves, while a subnet served through a relay
    is answered only where a relay listens (this host may sit on another segment of that
    number, another lab's, a VPN's). Pure: the choice is tested without a network."""
    import ipaddress

    nets = []
    for cidr in served:
        try:
            nets.append(ipaddress.IPv4Network(cidr, strict=False))
        except ValueError:
            continue
    at_servers = [ipaddress.IPv4Address(a) for a in servers]
    nets.sort(key=lambda net: not any(a in net for a in at_servers))   # stable: config order
    legs = [(iface, ipaddress.IPv4Interface(addr)) for iface, addr in interfaces
            if iface != "lo"]
    for net in nets:
        for iface, addr in legs:
            if addr.ip in net:
                return iface, str(net)
    return None


def found_probe(served: list[str], servers: list[str] = ()) -> LocalProbe | None:
    """The wizard host itself as the probe, when it has a leg on a served subnet and may
    send as a DHCP client (root: the client port 68 and a raw broadcast). servers: the
    peers' own addresses (see served_leg)."""
    import os

    if os.geteuid() != 0:
        return None
    leg = served_leg(served, local_interfaces(), servers)
    return LocalProbe(leg[0], found_on=leg[1]) if leg else None
