"""Turn the test lab into a running failover pair and back, for tests of OMAPI and the drill.

The configs are written out by hand here, independently of wizard/conf, so that the OMAPI
client and the state watcher are tested against dhcpd itself, not against our own generator.
"""

from __future__ import annotations

import base64
import secrets
from concurrent.futures import ThreadPoolExecutor

from tests.helpers.lab import sh, ssh

RELATIONSHIP = "failover-partner"
PORTS = {"primary": 519, "secondary": 520}


def failover_conf(spec, role: str, secret: str, mclt: int = 30) -> str:
    other = "secondary" if role == "primary" else "primary"
    net = spec.network
    start, end = spec.pool
    primary_only = f"\tmclt {mclt};\n\tsplit 128;\n" if role == "primary" else ""
    return f"""authoritative;
ddns-update-style none;
default-lease-time 600;
max-lease-time 7200;
failover peer "{RELATIONSHIP}" {{
\t{role};
\taddress {spec.address(role)};
\tport {PORTS[role]};
\tpeer address {spec.address(other)};
\tpeer port {PORTS[other]};
\tmax-response-delay 15;
\tmax-unacked-updates 10;
{primary_only}\tload balance max seconds 3;
}}
omapi-port 7911;
key omapi_key {{ algorithm hmac-md5; secret "{secret}"; }}
omapi-key omapi_key;
subnet {net.network_address} netmask {net.netmask} {{
\toption routers {spec.gateway};
\tpool {{ failover peer "{RELATIONSHIP}"; range {start} {end}; }}
}}
"""


def restart_both(spec) -> None:
    def restart(role):
        client = ssh(spec, role)
        try:
            code, out, err = sh(client, "service isc-dhcp-server restart", timeout=40)
            assert code == 0, out + err
        finally:
            client.close()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(restart, ("primary", "secondary")))


class FailoverPair:
    def __init__(self, spec):
        self.spec = spec
        self.secret = base64.b64encode(secrets.token_bytes(64)).decode()
        self.saved: dict[str, str] = {}

    def endpoints(self) -> dict[str, tuple[str, int]]:
        return {r: (self.spec.address(r), 7911) for r in ("primary", "secondary")}

    def conf_path(self, role):
        return self.spec.host_dir(role) / "etc-dhcp" / "dhcpd.conf"

    def lease_path(self, role):
        return self.spec.host_dir(role) / "var-lib-dhcp" / "dhcpd.leases"

    def start(self) -> None:
        for role in ("primary", "secondary"):
            self.saved[role] = self.conf_path(role).read_text()
            self.conf_path(role).write_text(failover_conf(self.spec, role, self.secret))
        restart_both(self.spec)

    def stop(self) -> None:
        """Back to the lab's plain baseline, with fresh lease files (no failover state)."""
        for role, text in self.saved.items():
            self.conf_path(role).write_text(text)
            self.lease_path(role).write_text("")
            for old in self.lease_path(role).parent.glob("dhcpd.leases~"):
                old.unlink()
        restart_both(self.spec)


def wait_normal(pair: FailoverPair, timeout: float = 60):
    from wizard.ops.omapi import read_states
    from wizard.ops.statewatch import both, wait_for

    reader = lambda: read_states(pair.endpoints(), "omapi_key", pair.secret, RELATIONSHIP)  # noqa: E731
    return wait_for(reader, both("normal"), timeout)
