"""The WireGuard side of `protect tunnel`, as pure functions: who is which end, the
wg-quick file each host gets, and what `wg` and `ss` print back.

The private key never appears here: wg-quick reads it from its own file on the host
(PostUp `wg set %i private-key FILE`), so the config we render, diff and record holds only
public keys and addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from wizard.errors import InputError

WG_DIR = "/etc/wireguard"
KEEPALIVE = 25      # also makes each side send at once on bring-up, so the handshake is quick
MARK = "# Written by dhcp-wizard (protect tunnel)"


@dataclass(frozen=True)
class TunnelEnd:
    role: str
    address: str        # on the tunnel, "A/P"
    endpoint: str       # where this host's WireGuard is reached (underlay)
    port: int
    interface: str

    @property
    def ip(self) -> str:
        return str(ipaddress.IPv4Interface(self.address).ip)

    @property
    def conf_path(self) -> str:
        return f"{WG_DIR}/{self.interface}.conf"

    @property
    def key_path(self) -> str:
        return f"{WG_DIR}/{self.interface}.key"

    @property
    def unit(self) -> str:
        return f"wg-quick@{self.interface}"


def ends(tunnel, underlay: dict[str, str]) -> dict[str, TunnelEnd]:
    """Both ends from the answers' [tunnel] and each peer's underlay failover address; the
    tunnel's subnet must not hold an endpoint (WireGuard would route itself into itself)."""
    if not tunnel.addresses:
        raise InputError("the answers have no [tunnel] addresses",
                         'add [tunnel] addresses = ["10.99.0.1/30", "10.99.0.2/30"] (the '
                         "primary's, then the secondary's): a subnet used nowhere else")
    roles = ("primary", "secondary")
    endpoints = dict(zip(roles, tunnel.endpoints)) if tunnel.endpoints else dict(underlay)
    net = ipaddress.IPv4Interface(tunnel.addresses[0]).network
    out = {}
    for role, addr in zip(roles, tunnel.addresses):
        endpoint = endpoints[role]
        try:
            inside = ipaddress.IPv4Address(endpoint) in net
        except ValueError:
            inside = False      # a name: resolved by the host; not ours to look up here
        if inside:
            raise InputError(f"tunnel.addresses: {net} holds the {role}'s endpoint {endpoint}",
                             "the tunnel needs a subnet of its own, used by nothing on the "
                             "way between the peers")
        out[role] = TunnelEnd(role, addr, endpoint, tunnel.port, tunnel.interface)
    return out


def render(me: TunnelEnd, peer: TunnelEnd, peer_public_key: str) -> str:
    """The host's /etc/wireguard/<if>.conf, in wg-quick's format."""
    if not valid_key(peer_public_key):
        raise ValueError("not a WireGuard public key")
    host = endpoint_host(peer.endpoint)
    return (f"{MARK}: the DHCP failover channel, {me.role} side.\n"
            "# The private key is in its own file (mode 0600), generated on this host.\n"
            "[Interface]\n"
            f"Address = {me.address}\n"
            f"ListenPort = {me.port}\n"
            f"PostUp = wg set %i private-key {me.key_path}\n"
            "\n"
            "[Peer]\n"
            f"# the {peer.role}\n"
            f"PublicKey = {peer_public_key}\n"
            f"AllowedIPs = {peer.ip}/32\n"
            f"Endpoint = {host}:{peer.port}\n"
            f"PersistentKeepalive = {KEEPALIVE}\n")


def endpoint_host(endpoint: str) -> str:
    try:
        if ipaddress.ip_address(endpoint).version == 6:
            return f"[{endpoint}]"
    except ValueError:
        pass
    return endpoint


def valid_key(text: str) -> bool:
    """A WireGuard key as `wg` prints it: 32 bytes in base64, 44 characters ending in =."""
    import base64
    import binascii

    if len(text) != 44 or not text.endswith("="):
        return False
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def handshakes(text: str) -> dict[str, int]:
    """`wg show IF latest-handshakes`: public key -> unix time of the last handshake (0:
    none yet)."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def failover_sockets(text: str, ports: set[int]) -> list[tuple[str, str]]:
    """`ss -tnH state established`: (local, peer) addresses of the connections on a failover
    port, either end."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        # With a state filter ss prints: Recv-Q Send-Q Local:Port Peer:Port [Process]
        if len(parts) < 4:
            continue
        local, peer = parts[2], parts[3]
        try:
            lport, pport = int(local.rsplit(":", 1)[1]), int(peer.rsplit(":", 1)[1])
        except (IndexError, ValueError):
            continue
        if lport in ports or pport in ports:
            out.append((local.rsplit(":", 1)[0], peer.rsplit(":", 1)[0]))
    return out
