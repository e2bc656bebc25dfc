"""The OMAPI secret: reuse one that exists, else make one the way a BIND HMAC key is made."""

from __future__ import annotations

import base64
import os

from wizard.conf.model import Config, _at
from wizard.conf.tree import Block
from wizard.errors import InputError


def generate() -> str:
    # os.urandom is what secrets.token_bytes reads; secrets would import random and hmac.
    return base64.b64encode(os.urandom(64)).decode("ascii")


def existing(key_name: str, *configs: Config) -> str | None:
    """The secret of key_name in the first config that has it, else of whatever key the
    first config's omapi-key names."""
    for config in configs:
        key = config.keys.get(key_name)
        if key is not None and key.secret:
            return key.secret
    for config in configs:
        if config.omapi_key is not None:
            key = config.keys.get(config.omapi_key.node.arg(1) or "")
            if key is not None and key.secret:
                return key.secret
    return None


def read_secret_file(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            # Line breaks and spaces inside are no part of the secret: `openssl rand -base64
            # 64`, the usual way to make one, wraps it at 64 columns, and dhcpd reads a secret
            # cut into pieces as one (parse.c, parse_base64).
            text = "".join(fh.read().split())
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read omapi.secret_file {path}: {exc.strerror}") from None
    if not text:
        raise InputError(f"omapi.secret_file {path} is empty",
                         "remove the file to have a secret generated, or put a base64 secret in it")
    try:
        base64.b64decode(text, validate=True)
    except ValueError:
        raise InputError(f"omapi.secret_file {path} does not hold a base64 secret",
                         "an OMAPI secret is base64 text, e.g. 64 random bytes encoded") from None
    return text


def write_secret_file(path: str, secret: str) -> None:
    # The answers loader checked the directory; this covers what changed since (a directory
    # removed, a file that appeared: O_EXCL never overwrites a secret someone else wrote).
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise InputError(f"cannot write omapi.secret_file {path}: {exc.strerror}",
                         "point secret_file at a file in a writable directory, or create it "
                         "with the base64 secret in it") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secret + "\n")


class KeyPlan:
    """The OMAPI key both servers end with, where it came from, and what that changes."""

    def __init__(self, name: str, algorithm: str, secret: str, origin: str, notes: list[str]):
        self.name, self.algorithm, self.secret = name, algorithm, secret
        self.origin, self.notes = origin, notes


def same_algorithm(a: str | None, b: str | None) -> bool:
    return _algorithm(a) == _algorithm(b)


def _algorithm(name: str | None) -> str:
    # dhcpd also reads md5's long name; a key without algorithm is refused by it anyway.
    name = (name or "hmac-md5").lower().rstrip(".")
    return "hmac-md5" if name == "hmac-md5.sig-alg.reg.int" else name


def decide(key_name: str, secret_file: str | None, primary: Config,
           secondary: Config) -> KeyPlan:
    """Keep the key the servers have (any algorithm dhcpd takes), the primary's where the two
    differ; a secret_file that exists wins over both. Each change is said, with why: other
    tools on these hosts may use the key. A server whose OMAPI already uses a key of another
    name is not renamed behind its back: the answers must name that key (or it is removed)."""
    sides = (("primary", primary), ("secondary", secondary))
    for role, config in sides:
        if config.omapi_key is None:
            continue
        used = config.omapi_key.node.arg(1) or ""
        key = config.keys.get(used)
        if used.lower() != key_name.lower() and key is not None:  # dhcpd ignores case
            raise _at(config.omapi_key, f"OMAPI on the {role} already authenticates with key "
                      f"\"{used}\" ({key.algorithm or 'no algorithm'}), which other tools on "
                      f"that host may use, but the answers name key \"{key_name}\"",
                      f"to keep that key, set key_name = \"{used}\" under [omapi] in the "
                      f"answers; to replace it, remove `omapi-key {used};` and its key block "
                      "from the config (whoever uses it then needs the new key)")
    keys = {role: c.keys.get(key_name) for role, c in sides}
    ref = next((k for k in keys.values() if k is not None and k.secret), None)
    algorithm = ref.algorithm if ref is not None and ref.algorithm else "hmac-md5"
    notes: list[str] = []
    from_file = read_secret_file(secret_file) if secret_file else None
    if from_file:
        secret, origin = from_file, f"read from {secret_file}"
    elif ref is not None:
        secret = ref.secret
        origin = f"reused from the existing configuration (key {key_name}, {algorithm}, at " \
            f"{ref.at.location})"
    else:
        secret, origin = generate(), "generated"
        if secret_file:
            write_secret_file(secret_file, secret)
            origin = f"generated and written to {secret_file} (mode 0600)"
    for role, key in keys.items():
        if key is None:
            continue
        changes = []
        if key.secret != secret:
            changes.append("its secret")
        if not same_algorithm(key.algorithm, algorithm):
            changes.append(f"its algorithm ({key.algorithm} -> {algorithm})")
        if changes:
            why = (f"the one in {secret_file}" if from_file else "the primary's, so that both "
                   "servers accept the same key")
            config = primary if role == "primary" else secondary
            zones = _zones_signed_with(config, key_name)
            dns = (f"; it also signs the DDNS updates of {', '.join(zones)}: the DNS server "
                   "must get the new key too, or those updates fail" if zones else "")
            notes.append(f"{role}: OMAPI key {key_name} at {key.at.location}: "
                         f"{' and '.join(changes)} replaced by {why}; every other OMAPI user "
                         f"of the {role} must switch to it{dns}")
    if not same_algorithm(algorithm, "hmac-md5"):
        notes.append(f"OMAPI key {key_name} keeps its algorithm {algorithm} (other tools may "
                     "rely on it); the wizard's own OMAPI client speaks only hmac-md5, so its "
                     "failover-state checks and drills cannot use this key")
    return KeyPlan(key_name, algorithm, secret, origin, notes)


def _zones_signed_with(config: Config, key_name: str) -> list[str]:
    """`zone NAME (file:line)` of each zone block that signs its DDNS updates with the key:
    a DDNS key doubling as the OMAPI key is shared with the DNS server, which a new secret
    or algorithm here silently locks out."""
    found = []
    for doc in config.docs:
        for node in doc.children:
            if not (isinstance(node, Block) and node.keyword == "zone"):
                continue
            if any(stmt.keyword == "key" and (stmt.arg(1) or "").lower().rstrip(".")
                   == key_name.lower().rstrip(".") for stmt in node.children):
                found.append(f"zone {node.arg(1) or ''} ({doc.path}:{node.line})")
    return found


def choose(key_name: str, secret_file: str | None, *configs: Config) -> tuple[str, str]:
    """(secret, where it came from): the file, the configs, or freshly generated."""
    if secret_file:
        from_file = read_secret_file(secret_file)
        if from_file:
            return from_file, f"read from {secret_file}"
    found = existing(key_name, *configs)
    if found:
        return found, "reused from the existing configuration"
    secret = generate()
    if secret_file:
        write_secret_file(secret_file, secret)
        return secret, f"generated and written to {secret_file} (mode 0600)"
    return secret, "generated"
