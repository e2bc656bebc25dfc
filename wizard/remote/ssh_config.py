"""Where and as whom to connect, resolved the way OpenSSH users expect, and host-key trust.

The answers file wins, then ~/.ssh/config (Host aliases, HostName, User, Port, IdentityFile,
ProxyJump, UserKnownHostsFile), then OpenSSH's defaults. Nothing here opens a socket, so the
resolution is testable on its own; paramiko is imported only where a key is handled.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from wizard.errors import InputError, OperationFailed

DEFAULT_IDENTITIES = ("id_ed25519", "id_ecdsa", "id_rsa")
GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"


def user_ssh_dir() -> Path:
    return Path.home() / ".ssh"


def default_config_path() -> Path:
    return Path(os.environ.get("DHCP_WIZARD_SSH_CONFIG") or user_ssh_dir() / "config")


@dataclass(frozen=True)
class Target:
    """One SSH destination, fully resolved. `alias` is what the user wrote."""

    alias: str
    hostname: str
    port: int
    user: str
    # Identity files named by the answers or ssh config; tried before the agent's keys.
    identities: tuple[str, ...] = ()
    # Whether default keys (~/.ssh/id_*) may be tried when nothing was named.
    default_identities: bool = True
    known_hosts: str = ""
    jumps: tuple["Target", ...] = field(default=())

    @property
    def known_hosts_name(self) -> str:
        """The name OpenSSH files this host's key under in known_hosts."""
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"

    def describe(self) -> str:
        via = f" via {' -> '.join(j.alias for j in self.jumps)}" if self.jumps else ""
        return f"{self.user}@{self.hostname}:{self.port}{via}"


def load_ssh_config(path: Path | None = None):
    import paramiko

    path = path or default_config_path()
    if path.is_file():
        try:
            return paramiko.SSHConfig.from_path(str(path))
        except Exception as exc:  # noqa: BLE001 - a broken config is the user's to fix
            raise InputError(f"cannot read {path}: {exc}", "fix the ssh config syntax") from None
    return paramiko.SSHConfig()


def resolve(alias: str, *, user: str | None = None, port: int | None = None,
            identity: str | None = None, known_hosts: str | None = None,
            ssh_config=None, _depth: int = 0) -> Target:
    if ssh_config is None:
        ssh_config = load_ssh_config()
    if _depth > 5:
        raise InputError(f"ProxyJump chain for {alias} is too long or loops",
                         "check ProxyJump in ~/.ssh/config")
    opts = ssh_config.lookup(alias)
    identities: list[str] = []
    if identity:
        identities.append(os.path.expanduser(identity))
    named_in_config = [os.path.expanduser(p) for p in opts.get("identityfile", [])]
    # paramiko's lookup always answers something for identityfile only when the config names
    # one, so an empty list means "use OpenSSH's defaults".
    identities.extend(p for p in named_in_config if p not in identities)
    kh = known_hosts or (opts.get("userknownhostsfile", "").split() or [""])[0] \
        or str(user_ssh_dir() / "known_hosts")
    try:
        resolved_port = int(port or opts.get("port", 22))
    except ValueError:
        raise InputError(f"ssh config: Port for {alias} is not a number") from None
    jumps: list[Target] = []
    proxy = opts.get("proxyjump", "")
    if proxy and proxy.lower() != "none":
        for hop in proxy.split(","):
            hop_user, hop_host, hop_port = _split_jump(hop.strip())
            jump = resolve(hop_host, user=hop_user, port=hop_port, known_hosts=known_hosts,
                           ssh_config=ssh_config, _depth=_depth + 1)
            # A jump host's own ProxyJump comes first in the chain, as in OpenSSH.
            jumps.extend(jump.jumps)
            jumps.append(Target(**{**jump.__dict__, "jumps": ()}))
    return Target(
        alias=alias,
        hostname=opts.get("hostname", alias),
        port=resolved_port,
        user=user or opts.get("user") or getpass.getuser(),
        identities=tuple(identities),
        default_identities=not identities,
        known_hosts=os.path.expanduser(kh),
        jumps=tuple(jumps),
    )


def _split_jump(hop: str) -> tuple[str | None, str, int | None]:
    user = None
    if "@" in hop:
        user, hop = hop.rsplit("@", 1)
    port = None
    if hop.startswith("["):
        host, _, rest = hop[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:])
        return user, host, port
    if hop.count(":") == 1:
        hop, p = hop.split(":")
        port = int(p)
    return user, hop, port


def resolve_host(host_answers, ssh_config=None) -> Target:
    """Target for a [primary]/[secondary] section of the answers."""
    return resolve(host_answers.host, user=host_answers.user, port=host_answers.port,
                   identity=host_answers.identity, known_hosts=host_answers.known_hosts,
                   ssh_config=ssh_config)


# -- host keys ---------------------------------------------------------------------------

def fingerprint(key) -> str:
    """OpenSSH's SHA256 fingerprint of a paramiko key, as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class HostKeyError(OperationFailed):
    """The server's host key cannot be accepted. Carries what a trust prompt needs."""

    def __init__(self, message: str, hint: str, *, target: Target, key, known_hosts: str):
        super().__init__(message, hint)
        self.target = target
        self.host = target.known_hosts_name
        self.key = key
        self.key_type = key.get_name()
        self.fingerprint = fingerprint(key)
        self.known_hosts = known_hosts


class UnknownHostKey(HostKeyError):
    """No key on file for this host. A UI may show the fingerprint and call trust_host_key()."""


class HostKeyChanged(HostKeyError):
    """The host presented a different key than the one on file. Never accepted automatically."""

    def __init__(self, message: str, hint: str, *, target: Target, key, known_hosts: str,
                 expected):
        super().__init__(message, hint, target=target, key=key, known_hosts=known_hosts)
        self.expected_fingerprint = fingerprint(expected)


def load_known_hosts(path: str):
    """Keys from the user's file and the system-wide one. Reading never writes anything."""
    import paramiko

    keys = paramiko.HostKeys()
    for candidate in (GLOBAL_KNOWN_HOSTS, path):
        if candidate and os.path.isfile(candidate):
            try:
                keys.load(candidate)
            except (OSError, paramiko.SSHException) as exc:
                raise OperationFailed(f"cannot read known_hosts {candidate}: {exc}",
                                      "fix or remove the damaged line") from None
    return keys


def known_key_types(keys, target: Target) -> list[str]:
    entry = keys.lookup(target.known_hosts_name)
    return list(entry.keys()) if entry else []


def verify_host_key(keys, target: Target, key) -> None:
    """Accept the key only when known_hosts holds exactly it; raise a HostKeyError otherwise."""
    name = target.known_hosts_name
    entry = keys.lookup(name) or {}
    expected = entry.get(key.get_name())
    if expected is not None:
        if expected.asbytes() == key.asbytes():
            return
        raise HostKeyChanged(
            f"host key of {name} has CHANGED: it presented {key.get_name()} {fingerprint(key)}, "
            f"but {target.known_hosts} holds {fingerprint(expected)}; connection refused",
            "this can be a reinstalled server or someone intercepting the connection. Check the "
            "fingerprint on the server's console (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub); "
            f"only if it matches, remove the old entry with "
            f"`ssh-keygen -R '{name}' -f {target.known_hosts}` and connect again",
            target=target, key=key, known_hosts=target.known_hosts, expected=expected)
    raise UnknownHostKey(
        f"host key of {name} is not known: {key.get_name()} {fingerprint(key)}; "
        "connection refused",
        "compare this fingerprint with the server's (ssh-keygen -lf "
        "/etc/ssh/ssh_host_*_key.pub on its console); if it matches, accept it in the wizard or "
        f"with `ssh -o UserKnownHostsFile={target.known_hosts} -p {target.port} "
        f"{target.user}@{target.hostname}` and answer yes",
        target=target, key=key, known_hosts=target.known_hosts)


def trust_host_key(error: UnknownHostKey) -> str:
    """Append the refused key to known_hosts, after the user confirmed its fingerprint.

    The only function that writes known_hosts. Returns the line written.
    """
    if isinstance(error, HostKeyChanged):
        raise OperationFailed("a changed host key is never trusted automatically", error.hint)
    line = f"{error.host} {error.key.get_name()} {error.key.get_base64()}\n"
    path = Path(error.known_hosts)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
    return line


def check_ssh_targets(answers) -> None:
    """The answers' two-servers rule again after ~/.ssh/config: two aliases whose HostName and
    Port are one are one server. For the commands about to connect; reads files only."""
    from wizard.pair_rules import TWO_SERVERS, same_host

    config = load_ssh_config()
    p, s = (resolve_host(answers.host(role), config) for role in ("primary", "secondary"))
    if same_host(p.hostname, s.hostname) and p.port == s.port:
        raise InputError(
            f"{answers.source or '<answers>'}: secondary.host: {answers.secondary.host!r} "
            f"reaches the same host as primary.host ({answers.primary.host!r}): both are "
            f"{s.hostname} port {s.port} after ~/.ssh/config", TWO_SERVERS)
