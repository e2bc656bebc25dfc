"""Is a failover pair healthy? One verdict per peer from both peers' OMAPI states, with the
command that fixes it. Shared by `check` (failover-state) and `lab status`; UI-free and pure,
so every state combination is tested without a dhcpd.

Verdicts: pass when a peer is normal with a normal partner; fail when a peer is out of
service in a way that lasts (shutdown and paused survive a dhcpd restart; a survivor in
partner-down or communications-interrupted means the pair runs on one leg), and whenever
neither peer serves clients; warn for the passing states of a recovery (startup, recover,
recover-wait, potential-conflict, ...) while the other peer still serves.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from wizard.ops.omapi import STATE_CODES, StateSample
from wizard.ops.statewatch import diagnose
from wizard.roles import OTHER, ROLES

# States in which dhcpd stays out of service until an operator moves it on.
PARKED = {"shutdown", "paused"}
# The steps of a peer rejoining its partner; each ends by itself.
REJOINING = {"startup", "recover", "recover-wait", "recover-done", "potential-conflict",
             "conflict-done"}
LOST_CONTACT = {"communications-interrupted", "resolution-interrupted"}


@dataclass(frozen=True)
class Verdict:
    role: str
    status: str             # pass, warn or fail
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class OmapiAccess:
    """How an operator reaches one peer's OMAPI, for the fix commands (never the secret)."""
    host: str
    port: int
    key_name: str
    secret_file: str | None     # read by the shell from FILE; without one the key is KEY


def recover_command(access: OmapiAccess, relationship: str) -> str:
    """An omshell one-liner that sets the peer's local-state to recover (6).

    The secret is read from its file by the operator's shell (or typed in place of KEY), so it
    is never part of what the wizard prints or logs. omshell exits 0 whatever happens: its
    text says `not connected.` or `connection reset by peer` when it failed.
    """
    if access.secret_file:
        # Whitespace dropped: a secret wrapped over lines (openssl rand -base64 64) is one
        # secret, and a newline would end omshell's `key` command halfway.
        key = f'"key {access.key_name} $(tr -d \'[:space:]\' < {shlex.quote(access.secret_file)})"'
    else:
        key = shlex.quote(f"key {access.key_name} KEY")
    steps = [f"server {access.host}", f"port {access.port}"]
    tail = ["connect", "new failover-state", f'set name = "{relationship}"', "open",
            f"set local-state = {STATE_CODES['recover']}", "update"]
    words = [shlex.quote(s) for s in steps] + [key] + [shlex.quote(s) for s in tail]
    return "printf '%s\\n' " + " ".join(words) + " | omshell"


def _state(sample: StateSample | None) -> str:
    if sample is None:
        return "not read"
    return sample.state.local_state if sample.state is not None else "unreadable"


def judge(samples: dict[str, StateSample], relationship: str, access: dict[str, OmapiAccess],
          mclt: int | None = None, now: float | None = None,
          start_hint: dict[str, str] | None = None) -> list[Verdict]:
    """One verdict per peer in samples. start_hint: per role, how to start its dhcpd."""
    start_hint = start_hint or {}
    serving = [r for r, s in samples.items() if s.state is not None and s.state.serving]
    out = []
    for role, sample in samples.items():
        other = OTHER[role]
        other_state = _state(samples.get(other))
        st = sample.state
        note = " ".join(diagnose({role: sample}, mclt, now=now))
        masked_key = "" if access[role].secret_file else (
            f" (KEY: the secret of OMAPI key {access[role].key_name} in dhcpd.conf)")
        recover = f"set it back to recover over OMAPI: `{recover_command(access[role], relationship)}`" \
                  + masked_key
        if st is None:
            if other_state == "partner-down" or other_state in LOST_CONTACT:
                detail = (f"{role} is out of service: OMAPI unreadable ({sample.error}) while "
                          f"the {other} serves alone in {other_state}")
            else:
                detail = f"{role}: {sample.error}"
            fix = (f"if dhcpd is not running on the {role}, start it "
                   f"({start_hint.get(role, 'with its service manager')}); otherwise check the "
                   "OMAPI key and port on both peers")
            out.append(Verdict(role, "fail", detail, fix))
            continue
        head = f"{role}: {st.local_state}, partner {st.partner_state}"
        if st.local_state == "normal" and st.partner_state == "normal":
            out.append(Verdict(role, "pass", f"{head} - {st.explain()}"))
        elif st.local_state in PARKED:
            out.append(Verdict(role, "fail",
                               f"{head} - the {role} is out of service: it serves no client, "
                               "and stays so across dhcpd restarts (the state is kept in its "
                               "lease file)", recover))
        elif st.local_state == "partner-down":
            if other_state in REJOINING:
                out.append(Verdict(role, "warn", f"{head} - it serves alone while the {other} "
                                   f"rejoins ({other_state}); they return to normal by "
                                   "themselves"))
                continue
            if other_state in PARKED:
                fix = (f"bring the {other} back into service (it is in {other_state}): "
                       f"{recover_command(access[other], relationship)}" if other in access
                       else f"set the {other} back to recover over OMAPI")
            else:
                fix = (f"start dhcpd on the {other} "
                       f"({start_hint.get(other, 'with its service manager')}); it rejoins "
                       "without an MCLT wait")
            out.append(Verdict(role, "fail", f"{head} - the {role} serves alone: the {other} "
                               f"is out of service ({other_state})", fix))
        elif st.local_state in LOST_CONTACT and other_state == "unreadable":
            out.append(Verdict(role, "fail", f"{head} - the {role} serves alone from its own "
                               f"free addresses: the {other} is out of service (its OMAPI "
                               "cannot be read)", f"start dhcpd on the {other} "
                               f"({start_hint.get(other, 'with its service manager')}), or "
                               "find out why it does not answer"))
        elif st.local_state in LOST_CONTACT:
            out.append(Verdict(role, "fail", f"{head} - the peers cannot talk to each other; "
                               f"{st.explain()}",
                               note or "check the failover port in both directions and that "
                               "the clocks are within 60 s"))
        elif st.local_state == "normal":
            out.append(Verdict(role, "warn", f"{head} - the partner is not normal yet"))
        else:
            idle = not serving
            detail = f"{head} - {st.explain()}" + (" Neither peer serves clients now."
                                                   if idle else "")
            fix = note or (None if st.local_state in REJOINING else recover)
            out.append(Verdict(role, "fail" if idle else "warn", detail, fix))
    return out
