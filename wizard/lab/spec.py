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
# A non-root login with password-less sudo on both lab hosts, as production pairs are
# usually administered; its sudo rights exist only inside the lab hosts.
LAB_USER = "dhwlab"
_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,5}$")


class LabError(OperationFailed):
    """The lab could not be built, torn down or used."""


def state_root() -> Path:
    return Path(os.environ.get("DHCP_WIZARD_LAB_DIR", "/var/lib/dhcp-wizard/lab"))


@dataclass(frozen=True)
class LabSpec:
    name: str = DEFAULT_NAME
    subnet: str = DEFAULT_SUBNET

    def __post_init__(self) -> None:
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

    # -- network -------------------------------------------------------------
    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    def _ip(self, n: int) -> str:
        return str(self.network.network_address + n)

    @property
    def gateway(self) -> str:
        """The wizard host's own address on the lab bridge."""
        return self._ip(1)

    def address(self, role: str) -> str:
        return self._ip({"primary": 11, "secondary": 12}[role])

    @property
    def pool(self) -> tuple[str, str]:
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
        return f"{self.name}-{ {'primary': 'pri', 'secondary': 'sec', 'client': 'cli'}[role] }"

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


# Directories each lab host gets privately (bind-mounted whole, so `sed -i` and atomic
# renames work inside them); the left side is the directory name under the host's dir.
PRIVATE_DIRS = {
    "etc-dhcp": "/etc/dhcp",
    "etc-default": "/etc/default",
    "etc-ssh": "/etc/ssh",
    "etc-chrony": "/etc/chrony",
    "etc-sudoers.d": "/etc/sudoers.d",
    "var-lib-dhcp": "/var/lib/dhcp",
    "var-log": "/var/log",
    "run": "/run",
    "tmp": "/tmp",
    "root": "/root",
}
