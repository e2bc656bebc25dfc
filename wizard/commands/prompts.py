"""Secrets typed at the terminal for the headless commands (never stored or recorded)."""

from __future__ import annotations

import sys


def secret_prompt():
    """A callback for the SSH layer: asks for a key passphrase or a login password, or None
    when no one sits at a terminal (then only keys that need nothing work)."""
    if not sys.stdin.isatty():
        return None
    import getpass

    return lambda what: getpass.getpass(f"{what}: ")
