"""OMAPI client for dhcpd failover: read and set a relationship's state, stop a server.

Built on pypureomapi, which speaks only hmac-md5. Every connection has a timeout (pypureomapi
blocks forever without one), and each way OMAPI fails gets its own exception and sentence,
because "connection reset" is what a wrong key looks like and nobody should have to know that.
"""

from __future__ import annotations

import base64
import binascii
import socket
import struct
import time
from dataclasses import dataclass

from wizard.errors import OperationFailed

STATES = {
    0: "unknown-state",  # dhcpd's name for a partner it has not heard from
    1: "startup", 2: "normal", 3: "communications-interrupted", 4: "partner-down",
    5: "potential-conflict", 6: "recover", 7: "paused", 8: "shutdown", 9: "recover-done",
    10: "resolution-interrupted", 11: "conflict-done", 254: "recover-wait",
}
STATE_CODES = {name: code for code, name in STATES.items()}

EXPLAIN = {
    "startup": "just started; it waits to hear from its partner before serving anyone.",
    "normal": "both servers talk to each other and share the clients (load balanced).",
    "communications-interrupted": "it cannot reach its partner; it serves from its own free "
                                  "addresses only and keeps renewals within MCLT.",
    "partner-down": "it believes its partner is down and serves every client alone; it takes "
                    "the partner's free addresses once MCLT has passed.",
    "potential-conflict": "the two disagree about leases; neither serves until they resolve it.",
    "recover": "it lost its lease state (or is new) and is relearning it from its partner; "
               "it serves no one meanwhile.",
    "paused": "an operator paused it; it serves no one.",
    "shutdown": "it is shutting down gracefully and told its partner to take over.",
    "recover-done": "it has relearned the leases and waits for its partner to confirm.",
    "resolution-interrupted": "it lost contact while resolving a conflict; it serves no one.",
    "conflict-done": "the conflict is resolved; it waits to move back to normal.",
    "recover-wait": "it has relearned the leases and waits out MCLT before serving, so no "
                    "address can be handed out twice.",
}
SERVES = {"normal", "communications-interrupted", "partner-down"}


class OmapiError(OperationFailed):
    """OMAPI did not do what was asked; the message says why in plain words."""


class OmapiUnreachable(OmapiError):
    pass


class OmapiTimeout(OmapiError):
    pass


class OmapiAuthError(OmapiError):
    pass


class OmapiUnknownRelationship(OmapiError):
    pass


def state_name(code: int | None) -> str:
    if code is None:
        return "unknown"
    return STATES.get(code, f"unknown state {code}")


@dataclass(frozen=True)
class FailoverState:
    relationship: str
    local_state: str
    partner_state: str
    mclt: int | None
    local_stos: int | None      # when the local state was entered (epoch seconds)
    partner_stos: int | None
    role: str                   # "primary" or "secondary" (dhcpd's hierarchy)
    max_response_delay: int | None
    # Binding updates sent to the partner and not yet acknowledged (dhcpd's ack queue).
    unacked: int | None = None

    @property
    def serving(self) -> bool:
        return self.local_state in SERVES

    def explain(self) -> str:
        return EXPLAIN.get(self.local_state, "a state dhcp-wizard does not know.")

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _int(raw: dict, key: bytes) -> int | None:
    value = raw.get(key)
    if value is None or len(value) != 4:
        return None
    return struct.unpack("!I", value)[0]


def parse_failover_state(relationship: str, raw: dict[bytes, bytes]) -> FailoverState:
    hierarchy = _int(raw, b"hierarchy")
    return FailoverState(
        relationship=relationship,
        local_state=state_name(_int(raw, b"local-state")),
        partner_state=state_name(_int(raw, b"partner-state")),
        mclt=_int(raw, b"mclt"),
        local_stos=_int(raw, b"local-stos"),
        partner_stos=_int(raw, b"partner-stos"),
        role={0: "primary", 1: "secondary"}.get(hierarchy, "unknown") if hierarchy is not None
        else "unknown",
        max_response_delay=_int(raw, b"max-response-delay"),
        unacked=_int(raw, b"cur-unacked-updates"),
    )


class OmapiClient:
    """One authenticated OMAPI connection to one dhcpd. Use as a context manager."""

    def __init__(self, host: str, port: int, key_name: str, secret: str, timeout: float = 5.0):
        self.host, self.port, self.timeout = host, port, timeout
        self._where = f"OMAPI on {host}:{port}"
        try:
            base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            raise OmapiAuthError("the OMAPI secret is not valid base64",
                                 "use the secret exactly as in the servers' `key` block") from None
        import pypureomapi

        self._lib = pypureomapi
        try:
            self._conn = pypureomapi.Omapi(host, port, key_name.encode(), secret.encode(),
                                           timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - mapped to plain messages below
            raise self._translate(exc, connecting=True) from None

    def __enter__(self) -> "OmapiClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._conn.close()
        except Exception:  # noqa: BLE001 - closing a dead socket is not news
            pass

    def _translate(self, exc: Exception, connecting: bool = False) -> OmapiError:
        if isinstance(exc, ConnectionRefusedError):
            return OmapiUnreachable(
                f"{self._where}: connection refused — nothing listens there",
                "check that dhcpd runs and its config has `omapi-port "
                f"{self.port};` (dhcpd reads it only at start)")
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return OmapiTimeout(
                f"{self._where}: no answer within {self.timeout:g} s",
                f"a firewall probably drops tcp/{self.port}; allow it from this host only "
                "(OMAPI has no address ACL of its own)")
        if isinstance(exc, (ConnectionResetError, BrokenPipeError)) or (
                isinstance(exc, self._lib.OmapiError)
                and (connecting or "authenticator" in str(exc) or "signature" in str(exc))):
            # A wrong secret comes back as a reply signed with another authenticator, a wrong
            # key name as a refused open, an older dhcpd just drops the connection.
            return OmapiAuthError(
                f"{self._where}: the server refused our key",
                "the key name or secret differs from the server's `omapi-key`/`key` block "
                "(and the algorithm must be hmac-md5)")
        if isinstance(exc, OSError):
            return OmapiUnreachable(f"{self._where}: {exc.strerror or exc}",
                                    "check the address and that this host can reach it")
        return OmapiError(f"{self._where}: {exc}")

    def _open_failover_state(self, relationship: str):
        lib = self._lib
        msg = lib.OmapiMessage.open(b"failover-state")
        msg.update_object({b"name": relationship.encode()})
        try:
            response = self._conn.query_server(msg)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc) from None
        if response.opcode != lib.OMAPI_OP_UPDATE:
            raise OmapiUnknownRelationship(
                f"{self._where}: dhcpd has no failover relationship named {relationship!r}",
                "compare the name with the `failover peer \"NAME\"` block in its config")
        return response

    def failover_state(self, relationship: str) -> FailoverState:
        response = self._open_failover_state(relationship)
        return parse_failover_state(relationship, dict(response.obj))

    def set_local_state(self, relationship: str, state: str | int) -> None:
        """Move this server's side of the relationship (e.g. shutdown, partner-down, recover)."""
        code = state if isinstance(state, int) else STATE_CODES[state]
        lib = self._lib
        handle = self._open_failover_state(relationship).handle
        msg = lib.OmapiMessage.update(handle)
        msg.update_object({b"local-state": struct.pack("!I", code)})
        try:
            response = self._conn.query_server(msg)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc) from None
        result = dict(response.message).get(b"result")
        if response.opcode == lib.OMAPI_OP_STATUS and result not in (None, b"\0\0\0\0"):
            text = dict(response.message).get(b"message", b"").decode(errors="replace")
            raise OmapiError(f"{self._where}: dhcpd refused to set local-state "
                             f"{state_name(code)}: {text or 'error ' + result.hex()}")


@dataclass(frozen=True)
class StateSample:
    t: float
    host: str
    state: FailoverState | None
    error: str | None = None


def read_states(endpoints: dict[str, tuple[str, int]], key_name: str, secret: str,
                relationship: str, timeout: float = 3.0) -> dict[str, StateSample]:
    """One reading of both peers; a peer that cannot be read is a sample with an error."""
    out = {}
    for role, (host, port) in endpoints.items():
        try:
            with OmapiClient(host, port, key_name, secret, timeout=timeout) as client:
                out[role] = StateSample(time.time(), role, client.failover_state(relationship))
        except OmapiError as exc:
            out[role] = StateSample(time.time(), role, None, exc.message)
    return out
