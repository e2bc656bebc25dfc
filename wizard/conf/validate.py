"""`dhcpd -t -cf FILE` as the final judge, its complaints turned into located errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

from wizard.conf.loader import encode
from wizard.conf.located import MASK, located, mask, secrets_in
from wizard.errors import InputError, NotAvailable

DHCPD = "/usr/sbin/dhcpd"
_LOCATED = re.compile(r"^(?P<file>.+?) line (?P<line>\d+): (?P<msg>.*)$")
_OMAPI_KEY = re.compile(r"^OMAPI key .*: not found$", re.S)
_CARET = re.compile(r"^[ \t]*\^$")
# The one dhcpd message that quotes a secret: what follows the first `=` of a bad one
# (parse.c, parse_base64), most of the secret when two were pasted together.
_BASE64_TAIL = re.compile(r"(stuff after base64 '=' terminator: ).*")
_BANNER = ("Internet Systems Consortium", "Copyright ", "All rights reserved",
           "For info, please visit", "Config file:", "Database file:", "PID file:",
           "Configuration file errors encountered", "exiting.", "Wrote ", "Listening on",
           "Sending on", "ldap_gssapi_principal", "Source compiled to use binary-leases")


def dhcpd_path() -> str | None:
    if os.path.exists(DHCPD):
        return DHCPD
    return shutil.which("dhcpd")


def dhcpd_errors(text: str, name: str = "<config>", *, dhcpd: str | None = None,
                 timeout: float = 300) -> list[str]:
    """dhcpd's complaints about config text, each as `name:line:col: problem` plus the line
    and a caret; [] when dhcpd accepts it."""
    binary = dhcpd or dhcpd_path()
    if binary is None:
        raise NotAvailable("dhcpd is not installed here, so the config cannot be validated",
                           "install isc-dhcp-server (Debian: apt-get install isc-dhcp-server)")
    fd, tmp = tempfile.mkstemp(prefix="dhcp-wizard-", suffix=".conf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(encode(text))
        # -t only parses: no lease file, no sockets. Never -q: it hides the errors.
        proc = subprocess.run([binary, "-4", "-t", "-cf", tmp], capture_output=True,
                              timeout=timeout)
    finally:
        os.unlink(tmp)
    if proc.returncode == 0:
        return []
    output = (proc.stderr + proc.stdout).decode("utf-8", "replace")
    return parse_dhcpd_output(output, tmp, name, text) or [
        f"{name}: dhcpd -t exited with status {proc.returncode}"]


def parse_dhcpd_output(output: str, tmp: str, name: str, text: str) -> list[str]:
    source = text.split("\n")  # dhcpd counts only \n, not a form feed in a comment
    secrets = secrets_in(text)
    lines = output.splitlines()
    errors: list[str] = []
    seen: set[tuple[str, int, str]] = set()
    repeats = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("If you think you have received"):
            break
        m = _LOCATED.match(line)
        if m is None:
            if line.strip() and not line.startswith(_BANNER):
                errors.append(f"{name}: {mask(_tidy(line), secrets)}"[:400])
            i += 1
            continue
        file = name if m["file"] == tmp else m["file"]
        number = int(m["line"])
        col, i = 1, i + 1
        if i + 1 < len(lines) and _CARET.match(lines[i + 1]):
            col = lines[i + 1].index("^") + 1
            i += 2
        problem = [m["msg"].strip()]
        # dhcpd wraps long messages over the lines after the caret.
        while i < len(lines) and lines[i].strip() and not _LOCATED.match(lines[i]) \
                and not lines[i].startswith(_BANNER):
            problem.append(lines[i].strip())
            i += 1
        message = _tidy(" ".join(problem))
        if (file, number, message) in seen:
            repeats += 1
            continue
        seen.add((file, number, message))
        shown = source[number - 1] if file == name and 0 < number <= len(source) else None
        errors.append(located(file, number, col, message, shown, secrets))
    if repeats:
        # dhcpd says "token larger than internal buffer" once per buffer's worth of an
        # overlong line: eighty copies of one error bury the others.
        errors.append(f"{name}: ({repeats} repeats of the errors above left out)")
    return errors


def _tidy(message: str) -> str:
    message = _BASE64_TAIL.sub(lambda m: m.group(1) + MASK, " ".join(message.split()))
    # dhcpd prints the key's name from a dangling pointer here: the bytes are noise.
    if _OMAPI_KEY.match(message):
        return "OMAPI key not found: omapi-key names a key that no `key` block declares"
    return message


def check_with_dhcpd(text: str, name: str = "<config>") -> None:
    """Raise InputError (exit 2) with every located complaint when dhcpd rejects text."""
    errors = dhcpd_errors(text, name)
    if errors:
        raise InputError("dhcpd -t rejects the configuration:\n" + "\n".join(errors),
                         "fix the statement at the location shown")
