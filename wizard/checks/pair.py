"""The two configs as a pair (lint), and the state of a failover relationship that
already runs, read over OMAPI."""

from __future__ import annotations

from wizard.checks.base import Run, guarded
from wizard.roles import ROLES


@guarded("config-lint")
def lint_check(run: Run) -> None:
    if len(run.configs) < 2:
        why = "; ".join(f"{r}: {run.summaries[r]['error']}" for r in ROLES
                        if "error" in run.summaries.get(r, {}))
        run.add("config-lint", None, "fail" if why else "skip",
                why or "needs both configs read over SSH",
                "fix the config so that `dhcpd -t` accepts it" if why else None)
        return
    from wizard.conf.lint import lint_pair

    findings = lint_pair(run.configs["primary"], run.configs["secondary"])
    deployed = any(c.peers for c in run.configs.values())
    if not deployed:
        # Before deployment, missing failover/OMAPI settings are what `plan` adds, not faults.
        findings = [f for f in findings if f.id not in ("peer-missing", "omapi-port-missing")]
    errors = [f for f in findings if f.severity == "error"]
    warns = [f for f in findings if f.severity == "warn"]
    if run.session is not None:
        run.session.event("check", "lint", findings=[f.as_dict() for f in findings])
    state = "" if deployed else "no failover configured yet; "
    if errors:
        status = "fail" if deployed else "warn"
        run.add("config-lint", None, status,
                f"{state}{len(errors)} error(s): " + " | ".join(f.render() for f in errors[:3]),
                "fix these in the configs, or let `dhcp-wizard plan` align them")
    elif warns:
        run.add("config-lint", None, "warn",
                f"{state}{len(warns)} warning(s): " + " | ".join(f.render() for f in warns[:3]))
    else:
        run.add("config-lint", None, "pass",
                f"{state}the two configs agree" + ("" if deployed else
                                                    " (`plan` adds failover and OMAPI)"))


@guarded("failover-state")
def failover_state_check(run: Run, pair) -> None:
    name = run.answers.failover.name
    declared = [r for r in ROLES if name in run.summaries.get(r, {}).get("failover_peers", {})]
    if not declared:
        run.add("failover-state", None, "skip", f"failover \"{name}\" is not configured yet")
        return
    secret, from_file = _omapi_secret(run)
    ports = {r: run.summaries[r].get("omapi_port") for r in declared}
    if secret is None or not all(ports.values()):
        run.add("failover-state", None, "skip",
                "OMAPI is not configured with a key the wizard holds, so the state cannot be read",
                "set omapi.secret_file in the answers, or let `plan` configure OMAPI")
        return
    from wizard.ops.failover_health import OmapiAccess, judge
    from wizard.ops.omapi import read_states

    endpoints = {r: (pair.conn(r).remote_address, ports[r]) for r in declared if pair.conn(r)}
    samples = read_states(endpoints, run.answers.omapi.key_name, secret, name)
    # The fix names the secret file only when the key the check used came from it.
    secret_file = run.answers.omapi.secret_file if from_file else None
    access = {r: OmapiAccess(host, port, run.answers.omapi.key_name, secret_file)
              for r, (host, port) in endpoints.items()}
    restart = {r: run.answers.host(r).restart or (run.facts[r].service.restart
                                                  if r in run.facts else None)
               for r in endpoints}
    verdicts = judge(samples, name, access, mclt=run.answers.failover.mclt,
                     start_hint={r: f"`{c}`" for r, c in restart.items() if c})
    for v in verdicts:
        run.add("failover-state", v.role, v.status, v.detail, v.fix)


def _omapi_secret(run: Run) -> tuple[str | None, bool]:
    """(secret, whether it came from omapi.secret_file)."""
    from wizard.conf.omapi_key import existing, read_secret_file

    secret, from_file = None, False
    if run.answers.omapi.secret_file:
        secret = read_secret_file(run.answers.omapi.secret_file)
        from_file = secret is not None
    if secret is None and run.configs:
        secret = existing(run.answers.omapi.key_name, *run.configs.values())
    if secret is not None and run.session is not None:
        run.session.redactor.add(secret)
    return secret, from_file
