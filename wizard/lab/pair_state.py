"""The lab pair's failover health, for `lab status`: read straight from the lab hosts' files
and their dhcpd's OMAPI, without SSH.

The lab's baseline runs no failover; a deploy (or a test) writes a failover config into the
hosts' /etc/dhcp. The relationship, OMAPI port and key come from that config as dhcpd reads it,
so whatever put failover there, its own key is the one used. The secret stays in memory: the
fix commands name the answers' secret file, or KEY.
"""

from __future__ import annotations

from wizard.conf.loader import LocalLoader
from wizard.errors import WizardError
from wizard.lab.hostfs import host_file
from wizard.lab.spec import ROLES, LabSpec

CONF = "/etc/dhcp/dhcpd.conf"       # the lab's init script defaults (DHCPDv4_CONF unset)
OMAPI_TIMEOUT = 2.0


class _HostLoader(LocalLoader):
    """Paths as dhcpd inside the lab host sees them, read from the host's private dirs."""

    def __init__(self, spec: LabSpec, role: str):
        self.spec, self.role = spec, role

    def read(self, path: str) -> str:
        try:
            return super().read(str(host_file(self.spec, self.role, path)))
        except ValueError:
            return super().read(path)   # outside the private dirs: the machine's own file

    def resolve(self, path: str, including: str | None = None,
                main: str | None = None) -> str:
        return path if path.startswith("/") else "/etc/dhcp/" + path


def _config(spec: LabSpec, role: str):
    from wizard.conf.model import load

    return load(CONF, _HostLoader(spec, role))


def failover_health(spec: LabSpec, start_hint: str = "`service isc-dhcp-server start` "
                    "inside the host") -> dict | None:
    """None when the lab runs no failover (the baseline); else the states and verdicts."""
    from wizard.conf.omapi_key import read_secret_file
    from wizard.facts import summarise
    from wizard.ops.failover_health import OmapiAccess, Verdict, judge
    from wizard.ops.omapi import read_states

    configs, problems = {}, []
    for role in ROLES:
        try:
            configs[role] = _config(spec, role)
        except WizardError as exc:
            problems.append(Verdict(role, "fail", f"{role}: its dhcpd.conf cannot be read: "
                                    f"{exc.message}", exc.hint))
    names = [n for c in configs.values() for n in c.peers]
    if not names and not problems:
        return None
    relationship = names[0] if names else "?"
    summaries = {r: summarise(c) for r, c in configs.items()}
    endpoints, access = {}, {}
    key_name, secret = None, None
    secret_file = spec.state_dir / "omapi.secret"
    for role, summary in summaries.items():
        key_name = key_name or summary["omapi_key"]
        key = configs[role].keys.get(summary["omapi_key"] or "")
        secret = secret or (key.secret if key else None)
        if summary["omapi_port"] and relationship in configs[role].peers:
            endpoints[role] = (spec.address(role), summary["omapi_port"])
    if not endpoints or not key_name or not secret:
        problems.append(Verdict("primary", "fail", f"failover \"{relationship}\" is configured "
                                "but OMAPI is not (omapi-port, key and omapi-key in dhcpd.conf), "
                                "so its state cannot be read", "deploy again with "
                                "`dhcp-wizard deploy --answers " + str(spec.answers_path) + "`"))
        return _result(relationship, {}, problems)
    try:
        file_matches = read_secret_file(str(secret_file)) == secret
    except WizardError:
        file_matches = False
    for role, (host, port) in endpoints.items():
        access[role] = OmapiAccess(host, port, key_name,
                                   str(secret_file) if file_matches else None)
    samples = read_states(endpoints, key_name, secret, relationship, timeout=OMAPI_TIMEOUT)
    verdicts = problems + judge(samples, relationship, access,
                                mclt=_int(configs.get("primary"), relationship, "mclt"),
                                start_hint={r: start_hint for r in ROLES})
    return _result(relationship, samples, verdicts)


def _int(config, relationship: str, key: str) -> int | None:
    value = config.peers[relationship].value(key) if config is not None and \
        relationship in config.peers else None
    return int(value) if value and value.isdigit() else None


def _result(relationship: str, samples: dict, verdicts: list) -> dict:
    return {
        "relationship": relationship,
        "states": {r: ({"local": s.state.local_state, "partner": s.state.partner_state}
                       if s.state is not None else {"error": s.error})
                   for r, s in samples.items()},
        "verdicts": [v.as_dict() for v in verdicts],
        "healthy": not any(v.status == "fail" for v in verdicts),
    }
