"""Facts about a dhcpd host: one shell script over SSH, pure parsers (wizard.facts.parse).

gather(conn) costs one round trip; read_config() adds one per config file (main + includes)
and summarises what the conf engine finds: failover peers and OMAPI settings.
"""

from __future__ import annotations

from wizard.facts.parse import HostFacts, host_facts
from wizard.facts.script import SCRIPT, split_sections

__all__ = ["HostFacts", "gather", "read_config", "parse_output"]


def parse_output(output: str) -> HostFacts:
    return host_facts(split_sections(output))


def gather(conn, timeout: float = 15.0) -> HostFacts:
    """Raise wizard.remote.ssh.SSHError when the script could not run at all."""
    from wizard.remote.ssh import SSHError, sudo_refused

    res = conn.run("sh -s", stdin=SCRIPT, privileged=True, timeout=timeout, label="facts")
    if sudo_refused(res):
        from wizard.remote.ssh import SudoFailed

        raise SudoFailed(f"{conn.role}: `sudo -n` refused: {res.stderr.strip()}",
                         f"allow {conn.target.user} password-less sudo (a sudoers line "
                         f"`{conn.target.user} ALL=(root) NOPASSWD: ALL`), or connect as root")
    if res.timed_out or "@@dhw@@ end" not in res.stdout:
        raise SSHError(f"{conn.role}: the facts script did not finish "
                       f"({'timed out' if res.timed_out else f'exit {res.exit_code}'}): "
                       f"{res.stderr.strip()[:200]}",
                       "check that /bin/sh works for this user on the host")
    return parse_output(res.stdout)


def read_config(conn, path: str):
    """(Config model, summary dict) of the config at path, includes read over SSH.

    The summary has "error" instead when the file cannot be read or parsed, so the facts
    degrade to "unknown" rather than failing the host.
    """
    from wizard.conf.model import load
    from wizard.errors import WizardError
    from wizard.remote.loader import RemoteLoader

    try:
        config = load(path, RemoteLoader(conn))
    except WizardError as exc:
        return None, {"error": exc.message, "fix": exc.hint}
    return config, summarise(config)


def summarise(config) -> dict:
    peers = {}
    for name, peer in config.peers.items():
        peers[name] = {key: peer.value(key) for key in
                       ("role", "address", "port", "peer address", "peer port", "mclt", "split")
                       if peer.value(key) is not None}
    omapi_port = config.omapi_port.node.words[-1] if config.omapi_port else None
    omapi_key = config.omapi_key.node.words[-1].strip('"') if config.omapi_key else None
    key = config.keys.get(omapi_key) if omapi_key else None
    return {
        "files": [doc.path for doc in config.docs],
        "failover_peers": peers,
        "omapi_port": int(omapi_port) if omapi_port and omapi_port.isdigit() else None,
        "omapi_key": omapi_key,
        "omapi_key_algorithm": key.algorithm if key else None,
        "subnets": [s.cidr for s in config.subnets],
    }
