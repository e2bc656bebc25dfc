"""The OMAPI secret: reuse one that exists, else make one the way a BIND HMAC key is made."""

from __future__ import annotations

import base64
import os

from wizard.conf.model import Config
from wizard.errors import InputError


def generate() -> str:
    import secrets  # only when no secret exists yet; it costs an import of random and hmac

    return base64.b64encode(secrets.token_bytes(64)).decode("ascii")


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
            text = fh.read().strip()
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
