"""SSH to the two dhcpd hosts: verified host keys, OpenSSH-style auth, timeouts, sudo.

One Connection per host, opened once and reused by every step; both hosts are worked on in
parallel threads (a Connection is safe to share: paramiko multiplexes channels). Every command
result (exit code, output, duration) is recorded in the session, through its redactor.

Host keys: the key must already be in known_hosts. An unknown key raises UnknownHostKey (with
the SHA256 fingerprint) and a changed one HostKeyChanged; only ssh_config.trust_host_key()
ever writes known_hosts, and only when a user has accepted the fingerprint.
"""

from __future__ import annotations

import errno
import os
import shlex
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

from wizard.errors import OperationFailed
from wizard.roles import ROLES
from wizard.remote.ssh_config import (  # noqa: F401 - re-exported for callers of the SSH layer
    DEFAULT_IDENTITIES, HostKeyChanged, HostKeyError, Target, UnknownHostKey, fingerprint,
    known_key_types, load_known_hosts, resolve_host, trust_host_key, user_ssh_dir,
    verify_host_key,
)

CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 15.0
# Recorded output is capped: a runaway command must not bloat the session.
RECORD_LIMIT = 20000

# Asked for a secret, given what it is for ("passphrase for key PATH", "password for
# USER@HOST"); returns it, or None to give up. Whatever it returns is never stored.
PassphraseCallback = Callable[[str], "str | None"]


class SSHError(OperationFailed):
    """A host could not be reached, logged into, or used."""


class ConnectFailed(SSHError):
    pass


class AuthFailed(SSHError):
    pass


class SudoFailed(SSHError):
    pass


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int | None       # None when the command timed out
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def sudo_refused(result: CommandResult) -> bool:
    err = result.stderr.lower()
    return result.exit_code == 1 and err.startswith("sudo:") and (
        "password is required" in err or "not allowed" in err or "not in the sudoers" in err
        or "a terminal is required" in err)


def _exec(chan, command: str, timeout: float) -> None:
    """chan.exec_command, bounded: paramiko waits for the server's answer to the request
    without a timeout, so a link cut at that instant (packets dropped, the TCP connection
    still open) held a run, and the upgrade behind it, for good (seen in CI: 300 s). At
    the deadline the channel is closed, which ends the wait; the run then counts as timed
    out."""
    fired = threading.Event()

    def expire() -> None:
        fired.set()
        chan.close()

    watchdog = threading.Timer(max(0.1, timeout), expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        chan.exec_command(command)
    except Exception:  # noqa: BLE001 - paramiko says "Channel closed." for the watchdog's close
        if fired.is_set():
            raise socket.timeout from None
        raise
    finally:
        watchdog.cancel()


class Connection:
    """An authenticated SSH transport to one host (`role` names it in the session)."""

    def __init__(self, role: str, target: Target, transport, *, sudo: bool, session=None,
                 hops=()):
        self.role = role
        self.target = target
        self.transport = transport
        self.sudo = sudo and target.user != "root"
        self.session = session
        self._hops = list(hops)

    @property
    def local_address(self) -> str | None:
        """Our address as the host sees it, when we reach it directly."""
        if self._hops:
            return None
        try:
            return self.transport.sock.getsockname()[0]
        except (OSError, AttributeError):
            return None

    @property
    def remote_address(self) -> str:
        """The address the connection reached (the resolved HostName)."""
        if not self._hops:
            try:
                return self.transport.sock.getpeername()[0]
            except (OSError, AttributeError):
                pass
        return self.target.hostname

    def run(self, command: str, *, privileged: bool = False, stdin: str | None = None,
            timeout: float = COMMAND_TIMEOUT, label: str | None = None,
            record_output: bool = True, quiet: bool = False) -> CommandResult:
        """Run a shell command. privileged goes through `sudo -n` for a non-root user.

        quiet keeps a successful command out of the session: heartbeats and status polls run
        every second or two, and their outcome is recorded by the caller instead."""
        if privileged and self.sudo:
            command = "sudo -n -- sh -c " + shlex.quote(command)
        start = time.monotonic()
        out, err, code, timed_out = b"", b"", None, False
        try:
            chan = self.transport.open_session(timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - paramiko raises several types here
            raise SSHError(f"{self.role}: cannot open a channel: {exc}",
                           "the connection was lost; run the check again") from None
        try:
            chan.settimeout(max(0.1, timeout))
            _exec(chan, command, timeout)
            if stdin is not None:
                try:
                    chan.sendall(stdin.encode())
                    chan.shutdown_write()
                except OSError:
                    # The command ended before it read its input (sudo refusing at once, on a
                    # busy host before the input was sent): what it printed and its exit
                    # status say why, not paramiko's "Socket is closed".
                    pass
            deadline = start + timeout
            while True:
                chunk = chan.recv(65536)
                if not chunk:
                    break
                out += chunk
                if time.monotonic() > deadline:
                    raise socket.timeout
            if chan.status_event.wait(max(0.0, deadline - time.monotonic())):
                code = chan.recv_exit_status()
            else:
                timed_out = True
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
        except socket.timeout:
            timed_out = True
        finally:
            chan.close()
        result = CommandResult(command, code, out.decode("utf-8", "replace"),
                               err.decode("utf-8", "replace"),
                               round(time.monotonic() - start, 4), timed_out)
        if self.session is not None and not (quiet and result.ok):
            cap = (lambda s: s[:RECORD_LIMIT]) if record_output else (lambda s: f"<{len(s)} chars>")
            self.session.event("ssh", "command", host=self.role, label=label,
                               command=command if stdin is None else f"{command} <<script>>",
                               exit_code=code, timed_out=timed_out, duration=result.duration,
                               stdout=cap(result.stdout), stderr=cap(result.stderr))
        return result

    def read_file(self, path: str, *, timeout: float = COMMAND_TIMEOUT) -> str:
        """A remote file's text (through sudo where configured); OSError when unreadable."""
        res = self.run(f"cat -- {shlex.quote(path)}", privileged=True, timeout=timeout,
                       label="read", record_output=False)
        if res.timed_out:
            raise OSError(errno.ETIMEDOUT, f"reading {path} on {self.role} timed out")
        if not res.ok:
            if sudo_refused(res):
                raise OSError(errno.EACCES, f"sudo refused on {self.role}: {res.stderr.strip()}")
            enoent = "No such file" in res.stderr
            raise OSError(errno.ENOENT if enoent else errno.EACCES,
                          res.stderr.strip() or f"cat {path} exited {res.exit_code}")
        return res.stdout

    def close(self) -> None:
        self.transport.close()
        for hop in reversed(self._hops):
            hop.close()


# -- connecting ---------------------------------------------------------------------------

def connect(role: str, target: Target, *, sudo: bool = False, session=None,
            passphrase: PassphraseCallback | None = None,
            timeout: float = CONNECT_TIMEOUT) -> Connection:
    """Open and authenticate a connection, through ProxyJump hops when configured."""
    hops = []
    sock = None
    try:
        for hop in target.jumps:
            t = _open_transport(hop, sock, timeout, passphrase)
            hops.append(t)
            sock = _tunnel(t, target_of_next(target, hop), timeout)
        transport = _open_transport(target, sock, timeout, passphrase)
    except BaseException:
        for t in reversed(hops):
            t.close()
        raise
    conn = Connection(role, target, transport, sudo=sudo, session=session, hops=hops)
    if session is not None:
        session.event("ssh", "connected", host=role, target=target.describe(),
                      host_key=fingerprint(transport.get_remote_server_key()))
    return conn


def target_of_next(target: Target, hop: Target) -> Target:
    idx = target.jumps.index(hop)
    return target.jumps[idx + 1] if idx + 1 < len(target.jumps) else target


def _tunnel(transport, nxt: Target, timeout: float):
    try:
        return transport.open_channel("direct-tcpip", (nxt.hostname, nxt.port), ("127.0.0.1", 0),
                                      timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        raise ConnectFailed(f"jump host cannot reach {nxt.hostname}:{nxt.port}: {exc}",
                            "check ProxyJump and that the jump host may forward (AllowTcpForwarding)"
                            ) from None


def _open_transport(target: Target, sock, timeout: float, passphrase):
    import paramiko

    where = f"{target.hostname}:{target.port}"
    if sock is None:
        try:
            sock = socket.create_connection((target.hostname, target.port), timeout=timeout)
        except socket.gaierror as exc:
            raise ConnectFailed(f"cannot resolve {target.hostname}: {exc.strerror}",
                                "check the host name in the answers file or ~/.ssh/config") from None
        except ConnectionRefusedError:
            raise ConnectFailed(f"{where}: connection refused (no SSH server listening)",
                                "start sshd on the host, or set the right port") from None
        except (socket.timeout, TimeoutError):
            raise ConnectFailed(f"{where}: no answer within {timeout:g} s (host down, or a "
                                "firewall drops SSH)",
                                "check that the host is up and that tcp/22 is allowed from here"
                                ) from None
        except OSError as exc:
            raise ConnectFailed(f"{where}: {exc.strerror or exc} (host down or no route)",
                                "check the address, the host's power and the network path"
                                ) from None
    known = load_known_hosts(target.known_hosts)
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    _prefer_known_key_types(transport, known_key_types(known, target))
    try:
        transport.start_client(timeout=timeout)
        verify_host_key(known, target, transport.get_remote_server_key())
        _authenticate(transport, target, passphrase, timeout)
    except HostKeyError:
        transport.close()
        raise
    except SSHError:
        transport.close()
        raise
    except (paramiko.SSHException, EOFError, OSError) as exc:
        transport.close()
        raise ConnectFailed(f"{where}: SSH handshake failed: {exc or type(exc).__name__}",
                            "check that this port runs an SSH server and answers in time"
                            ) from None
    return transport


def _prefer_known_key_types(transport, known_types: list[str]) -> None:
    """Ask for a host key type we already hold, as OpenSSH does, so a server with several
    keys is not refused just because it offered a different one first."""
    if not known_types:
        return
    opts = transport.get_security_options()
    wanted: list[str] = []
    for kt in known_types:
        wanted.extend(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] if kt == "ssh-rsa" else [kt])
    available = list(opts.key_types)
    first = [k for k in wanted if k in available]
    opts.key_types = first + [k for k in available if k not in first]


def _authenticate(transport, target: Target, passphrase, timeout: float) -> None:
    import paramiko

    tried: list[str] = []
    for label, key in _candidate_keys(target, passphrase, tried):
        try:
            transport.auth_publickey(target.user, key)
        except paramiko.AuthenticationException:
            tried.append(label)
            continue
        except paramiko.SSHException as exc:
            raise ConnectFailed(f"{target.hostname}: authentication broke off: {exc}",
                                "the server may limit auth attempts (MaxAuthTries); name the "
                                "right key with identity = in the answers") from None
        if transport.is_authenticated():
            return
    if passphrase is not None and _password_login(transport, target, passphrase, tried):
        return
    offered = ", ".join(tried) or "no keys"
    raise AuthFailed(
        f"{target.user}@{target.hostname}: authentication failed (tried {offered})",
        f"install your public key in ~{target.user}/.ssh/authorized_keys on the host, or set "
        "identity = \"/path/to/key\" (or user =) in the answers file"
        + ("" if passphrase is not None else "; a password can be typed only when the "
           "wizard runs at a terminal"))


def _password_login(transport, target: Target, ask: PassphraseCallback,
                    tried: list[str]) -> bool:
    """Password (or keyboard-interactive) login, asked only when the server offers it; the
    password is dropped right after, as OpenSSH does."""
    import paramiko

    methods = _offered_methods(transport, target.user)
    if transport.is_authenticated():
        return True  # the server asked for nothing at all
    if not methods & {"password", "keyboard-interactive"}:
        return False
    secret = ask(f"password for {target.user}@{target.hostname}")
    if not secret:
        tried.append("password (none given)")
        return False
    try:
        if "password" in methods:
            transport.auth_password(target.user, secret, fallback=False)
        else:
            transport.auth_interactive(target.user, lambda _t, _i, prompts: [secret] * len(prompts))
    except paramiko.AuthenticationException:
        tried.append("password (refused)")
        return False
    except paramiko.SSHException as exc:
        raise ConnectFailed(f"{target.hostname}: authentication broke off: {exc}",
                            "the server may limit auth attempts (MaxAuthTries)") from None
    finally:
        del secret
    return transport.is_authenticated()


def _offered_methods(transport, user: str) -> set[str]:
    import paramiko

    try:
        transport.auth_none(user)
    except paramiko.BadAuthenticationType as exc:
        return set(exc.allowed_types)
    except paramiko.SSHException:
        return set()
    return set()


def _candidate_keys(target: Target, passphrase, tried: list[str]):
    """Keys in OpenSSH's spirit: named identities, then the agent, then default keys.

    Encrypted keys are decrypted only when reached, with a passphrase asked through the
    callback and dropped right after.
    """
    import paramiko

    for path in target.identities:
        key = _load_key(path, passphrase, tried, required=True)
        if key is not None:
            yield path, key
    if os.environ.get("SSH_AUTH_SOCK"):
        try:
            agent_keys = paramiko.Agent().get_keys()
        except paramiko.SSHException:
            agent_keys = ()
        for key in agent_keys:
            yield f"agent key {fingerprint(key)}", key
    if target.default_identities:
        for name in DEFAULT_IDENTITIES:
            path = str(user_ssh_dir() / name)
            if os.path.isfile(path):
                key = _load_key(path, passphrase, tried, required=False)
                if key is not None:
                    yield path, key


def _load_key(path: str, passphrase, tried: list[str], *, required: bool):
    import paramiko

    try:
        return paramiko.PKey.from_path(path)
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        # OpenSSH-format keys come through `cryptography`, which says so with a TypeError.
        if isinstance(exc, TypeError) and "password" not in str(exc):
            tried.append(f"{path} (unreadable: {exc})")
            return None
        secret = passphrase(f"passphrase for key {path}") if passphrase else None
        if not secret:
            tried.append(f"{path} (needs a passphrase; none given)")
            return None
        try:
            return paramiko.PKey.from_path(path, password=secret.encode())
        except (paramiko.SSHException, ValueError, TypeError):
            tried.append(f"{path} (wrong passphrase)")
            return None
        finally:
            del secret
    except FileNotFoundError:
        if required:
            raise AuthFailed(f"identity file {path} does not exist",
                             "fix identity = in the answers file or IdentityFile in "
                             "~/.ssh/config") from None
        return None
    except (OSError, paramiko.SSHException, ValueError) as exc:
        tried.append(f"{path} (unreadable: {exc})")
        return None


# -- both hosts ---------------------------------------------------------------------------

class Pair:
    """The two peers' connections, opened in parallel and reused; failures kept per host.

    `conn(role)` returns the Connection or None; `errors[role]` holds why there is none.
    """

    def __init__(self, answers, session=None, passphrase: PassphraseCallback | None = None,
                 timeout: float = CONNECT_TIMEOUT, ssh_config=None):
        self.answers = answers
        self.session = session
        self.passphrase = passphrase
        self.timeout = timeout
        self.ssh_config = ssh_config
        self.connections: dict[str, Connection] = {}
        self.errors: dict[str, Exception] = {}
        self.targets: dict[str, Target] = {}
        self._lock = threading.Lock()

    def open(self) -> "Pair":
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(self._open_one, ROLES))
        return self

    def _open_one(self, role: str) -> None:
        host = self.answers.host(role)
        try:
            target = resolve_host(host, self.ssh_config)
            self.targets[role] = target
            conn = connect(role, target, sudo=host.sudo, session=self.session,
                           passphrase=self.passphrase, timeout=self.timeout)
        except OperationFailed as exc:
            self.errors[role] = exc
            if self.session is not None:
                self.session.event("ssh", "connect-failed", host=role, error=exc.message,
                                   fix=exc.hint, kind_of=type(exc).__name__)
            return
        with self._lock:
            self.connections[role] = conn

    def conn(self, role: str) -> Connection | None:
        return self.connections.get(role)

    def close(self) -> None:
        for conn in self.connections.values():
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def __enter__(self) -> "Pair":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
