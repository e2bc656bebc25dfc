"""Names, addresses and paths of one lab instance, all derived from its name and subnet.

Several labs can exist side by side (the test suite uses its own), so nothing here is global:
namespaces, links and directories all carry the lab's name.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from wizard.errors import InputError, OperationFailed
from wizard.roles import ROLES

DEFAULT_NAME = "dhw"
DEFAULT_SUBNET = "198.51.100.0/24"
# RFC 5737 documentation ranges. 192.0.2.0/24 is left out on purpose: it is these machines'
# own uplink, and a lab there would shadow the real network.
ALLOWED_SUBNETS = ("198.51.100.0/24", "203.0.113.0/24")
# A lab takes a /24 or half of one (/25), so two labs fit in one documentation range.
TOPOLOGIES = ("flat", "routed")
# How a lab host is laid out: Debian's isc-dhcp-server (the machine's own layout), or
# RHEL 9 / Rocky's dhcp-server (systemd unit dhcpd, /etc/sysconfig, /var/lib/dhcpd).
FLAVORS = ("debian", "rhel")
# The routed topology's router: its interface names (inside its own namespace) by segment.
ROUTER_LINKS = {"admin": "admin", "site-a": "site-a", "site-b": "site-b", "clients": "clients"}
# RHEL's dhcp-server package creates this system account (uid and gid 177 on RHEL 9).
RHEL_DHCPD_ID = 177
# A non-root login with password-less sudo on both lab hosts, as production pairs are
# usually administered; its sudo rights exist only inside the lab hosts.
LAB_USER = "dhwlab"
_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,5}$")


class LabError(OperationFailed):
    """The lab could not be built, torn down or used."""


# iptables: rules loaded with iptables-legacy from /etc/iptables/rules.v4, as Debian's
# iptables-persistent does at boot.
FIREWALLS = ("none", "nftables", "firewalld", "iptables")


def state_root() -> Path:
    return Path(os.environ.get("DHCP_WIZARD_LAB_DIR", "/var/lib/dhcp-wizard/lab"))


@dataclass(frozen=True)
class LabSpec:
    name: str = DEFAULT_NAME
    subnet: str = DEFAULT_SUBNET
    topology: str = "flat"
    flavor_primary: str = "debian"
    flavor_secondary: str = "debian"
    # sshd refuses root on both servers (and the router): the admin logs in as LAB_USER and
    # runs everything privileged through sudo, as many production pairs are run.
    root_login: bool = True
    # A host firewall per server (issue 13): "none" (default: the lab stays as open as it
    # always was and builds as fast), "nftables" (a typical host ruleset), "firewalld"
    # (the real daemon on the host's own system bus) or "iptables" (iptables-legacy rules and
    # iptables-persistent's /etc/iptables/rules.v4).
    firewall_primary: str = "none"
    firewall_secondary: str = "none"

    def __post_init__(self) -> None:
        if self.topology not in TOPOLOGIES:
            raise InputError(f"lab topology {self.topology!r} is not known",
                             f"use one of: {', '.join(TOPOLOGIES)}")
        for role in ROLES:
            if self.flavor(role) not in FLAVORS:
                raise InputError(f"lab flavor {self.flavor(role)!r} for the {role} is not known",
                                 f"use one of: {', '.join(FLAVORS)}")
        for role in ROLES:
            if self.firewall(role) not in FIREWALLS:
                raise InputError(f"lab firewall {self.firewall(role)!r} for the {role} is not "
                                 "known", f"use one of: {', '.join(FIREWALLS)}")
        if not _NAME_RE.match(self.name):
            raise InputError(f"lab name {self.name!r} is not usable",
                             "use 1 to 6 lower-case letters or digits, starting with a letter "
                             "(it prefixes interface names, which are limited to 15 characters)")
        try:
            net = ipaddress.IPv4Network(self.subnet, strict=True)
        except ValueError as exc:
            raise InputError(f"lab subnet {self.subnet!r} is not an IPv4 network: {exc}") from None
        if net.prefixlen not in (24, 25) or not any(
                net.subnet_of(ipaddress.IPv4Network(a)) for a in ALLOWED_SUBNETS):
            raise InputError(f"lab subnet {net} is not allowed",
                             f"use {' or '.join(ALLOWED_SUBNETS)}, or a /25 half of one; "
                             "192.0.2.0/24 is this machine's own uplink")

    def firewall(self, role: str) -> str:
        return {"primary": self.firewall_primary,
                "secondary": self.firewall_secondary}.get(role, "none")

    def own_etc(self, role: str) -> bool:
        """Whether the host has an /etc of its own (an overlay of the machine's): RHEL hosts,
        and hosts whose firewall keeps its permanent rules under /etc (firewalld's
        /etc/firewalld, iptables-persistent's /etc/iptables), which must never be this
        machine's."""
        return role in ROLES and (self.flavor(role) == "rhel"
                                  or self.firewall(role) in ("firewalld", "iptables"))

    def flavor(self, role: str) -> str:
        return {"primary": self.flavor_primary, "secondary": self.flavor_secondary}.get(
            role, "debian")

    @property
    def routed(self) -> bool:
        return self.topology == "routed"

    @property
    def hosts(self) -> tuple[str, ...]:
        """The namespaces with a mount namespace, sshd and daemons of their own."""
        return (*ROLES, "router") if self.routed else ROLES

    @property
    def login_user(self) -> str:
        return "root" if self.root_login else LAB_USER

    # -- network -------------------------------------------------------------
    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    def _ip(self, n: int) -> str:
        return str(self.network.network_address + n)

    @property
    def segments(self) -> dict[str, ipaddress.IPv4Network]:
        """The routed lab's segments, all carved out of the lab's own subnet (so the
        collision check of that subnet covers them): the upper half for the clients, and
        quarters of the lower half for this host's link to the router and the two sites."""
        if not self.routed:
            return {"lab": self.network}
        lower, upper = self.network.subnets(prefixlen_diff=1)
        admin, site_a, site_b, _spare = lower.subnets(prefixlen_diff=2)
        return {"admin": admin, "site-a": site_a, "site-b": site_b, "clients": upper}

    @property
    def tunnel_addresses(self) -> tuple[str, str] | None:
        """The routed lab's spare quarter, as the two peers' `protect tunnel` addresses: a
        subnet of the lab's own that no segment uses (None on a flat lab)."""
        if not self.routed:
            return None
        spare = list(list(self.network.subnets(prefixlen_diff=1))[0].subnets(prefixlen_diff=2))[3]
        return (f"{spare.network_address + 1}/{spare.prefixlen}",
                f"{spare.network_address + 2}/{spare.prefixlen}")

    def site(self, role: str) -> ipaddress.IPv4Network:
        """The segment a server sits on."""
        if not self.routed:
            return self.network
        return self.segments[{"primary": "site-a", "secondary": "site-b"}[role]]

    def router_address(self, segment: str) -> str:
        """The router's address on a segment (on the admin link .2: .1 is this host)."""
        net = self.segments[segment]
        return str(net.network_address + (2 if segment == "admin" else 1))

    @property
    def gateway(self) -> str:
        """The wizard host's own address on the lab bridge."""
        if self.routed:
            return str(self.segments["admin"].network_address + 1)
        return self._ip(1)

    def address(self, role: str) -> str:
        if role == "router":
            return self.router_address("admin")
        offset = {"primary": 11, "secondary": 12}[role]
        return str(self.site(role).network_address + offset)

    def prefixlen(self, role: str) -> int:
        return self.segments["admin"].prefixlen if role == "router" else self.site(role).prefixlen

    @property
    def served_network(self) -> ipaddress.IPv4Network:
        """Where the lab's client sits, the subnet whose pool the servers hand out."""
        return self.segments["clients"] if self.routed else self.network

    @property
    def client_gateway(self) -> str:
        return self.router_address("clients") if self.routed else self.gateway

    @property
    def pool(self) -> tuple[str, str]:
        if self.routed:
            net = self.segments["clients"]
            return (str(net.network_address + 10), str(net.broadcast_address - 8))
        return (self._ip(100), self._ip(199)) if self.network.prefixlen == 24 else (
            self._ip(64), self._ip(119))

    @property
    def remote_network(self) -> ipaddress.IPv4Network:
        """The other documentation /24, declared in dhcpd.conf as a relayed segment."""
        other = [s for s in ALLOWED_SUBNETS
                 if not self.network.subnet_of(ipaddress.IPv4Network(s))][0]
        return ipaddress.IPv4Network(other)

    # -- names ---------------------------------------------------------------
    def netns(self, role: str) -> str:
        short = {"primary": "pri", "secondary": "sec", "client": "cli", "router": "rtr"}[role]
        return f"{self.name}-{short}"

    @property
    def bridge(self) -> str:
        return f"{self.name}-br"

    def veth(self, role: str) -> str:
        """Root-side end of a host's veth pair; the namespace side is called eth0."""
        return f"{self.netns(role)}-v"

    # -- paths ---------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        return state_root() / self.name

    @property
    def run_dir(self) -> Path:
        """Where the mount namespaces are pinned; a private mount point of its own."""
        return Path("/run/dhcp-wizard") / self.name

    def mount_pin(self, role: str) -> Path:
        return self.run_dir / f"{role}.mnt"

    def host_dir(self, role: str) -> Path:
        return self.state_dir / "hosts" / role

    @property
    def client_dir(self) -> Path:
        return self.state_dir / "client"

    @property
    def key_path(self) -> Path:
        return self.state_dir / "id_ed25519"

    @property
    def password_path(self) -> Path:
        """The lab sudo user's login password (the lab hosts alone accept it)."""
        return self.state_dir / f"{LAB_USER}.password"

    @property
    def known_hosts_path(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def answers_path(self) -> Path:
        return self.state_dir / "answers.toml"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    def private_dirs(self, role: str) -> dict[str, str]:
        if role == "router":
            return ROUTER_PRIVATE_DIRS
        return RHEL_PRIVATE_DIRS if self.flavor(role) == "rhel" else PRIVATE_DIRS

    def as_state(self) -> dict:
        return {"name": self.name, "subnet": self.subnet, "topology": self.topology,
                "flavor_primary": self.flavor_primary,
                "flavor_secondary": self.flavor_secondary, "root_login": self.root_login,
                "firewall_primary": self.firewall_primary,
                "firewall_secondary": self.firewall_secondary}

    @classmethod
    def from_state(cls, state: dict) -> "LabSpec":
        """The spec a state file describes; labs made before topologies were flat Debian."""
        return cls(name=state["name"], subnet=state["subnet"],
                   topology=state.get("topology", "flat"),
                   flavor_primary=state.get("flavor_primary", "debian"),
                   flavor_secondary=state.get("flavor_secondary", "debian"),
                   root_login=state.get("root_login", True),
                   firewall_primary=state.get("firewall_primary", "none"),
                   firewall_secondary=state.get("firewall_secondary", "none"))


# Directories each lab host gets privately (bind-mounted whole, so `sed -i` and atomic
# renames work inside them); the left side is the directory name under the host's dir.
PRIVATE_DIRS = {
    "etc-dhcp": "/etc/dhcp",
    "etc-default": "/etc/default",
    "etc-ssh": "/etc/ssh",
    "etc-chrony": "/etc/chrony",
    "etc-sudoers.d": "/etc/sudoers.d",
    "var-lib-dhcp": "/var/lib/dhcp",
    # `protect tunnel` writes its wg-quick config and key here: each host's own, never the
    # machine's (a Debian lab host otherwise shares this machine's /etc).
    "etc-wireguard": "/etc/wireguard",
    "var-log": "/var/log",
    "run": "/run",
    "tmp": "/tmp",
    "root": "/root",
}
# A RHEL-layout host: /etc, /usr and /var/lib are overlays of the machine's (so the Debian
# files it must not have can be hidden and RHEL's put in place, see hostfs.rhel_layout), and
# these directories are its own on top.
RHEL_PRIVATE_DIRS = {
    "etc-dhcp": "/etc/dhcp",
    "etc-sysconfig": "/etc/sysconfig",
    "etc-ssh": "/etc/ssh",
    "etc-chrony": "/etc/chrony",
    "etc-sudoers.d": "/etc/sudoers.d",
    "var-lib-dhcpd": "/var/lib/dhcpd",
    "etc-wireguard": "/etc/wireguard",
    "var-log": "/var/log",
    "run": "/run",
    "tmp": "/tmp",
    "root": "/root",
}
# The router of the routed topology: a Debian host running isc-dhcp-relay and sshd.
ROUTER_PRIVATE_DIRS = {
    "etc-default": "/etc/default",
    "etc-ssh": "/etc/ssh",
    "etc-sudoers.d": "/etc/sudoers.d",
    "var-log": "/var/log",
    "run": "/run",
    "tmp": "/tmp",
    "root": "/root",
}
