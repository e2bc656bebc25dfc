"""The wizard's flow, in one place: the guide's steps, their order, and what blocks Next.

Pure and UI-free: the TUI shows one step at a time and asks this module whether the user
may go on, so the rules are unit-tested without a terminal. A step's gate (wizard.flow.policy)
has *reasons* (hard blocks: fix them first) and *warnings* (the user may go on, but only by
accepting them explicitly, which the TUI records in the session). Check results are judged by
the same rules as `deploy`'s; the steps add only what the wizard's own state decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from wizard.answers import Answers, answers_from_dict
from wizard.checks.registry import ids_of, steps_with_checks
from wizard.errors import InputError
from wizard.flow.policy import Gate, Warning, judge
from wizard.roles import ROLES


@dataclass(frozen=True)
class Step:
    id: str
    guide: tuple[int, ...]      # the guide's step numbers this screen covers
    title: str
    short_name: str = "start"   # where only a few columns are free, for a step without number

    @property
    def label(self) -> str:
        if not self.guide:
            return self.title
        nums = "–".join(str(n) for n in (self.guide[0], self.guide[-1])) \
            if len(self.guide) > 1 else str(self.guide[0])
        return f"{nums}. {self.title}"

    @property
    def short(self) -> str:
        return self.label.partition(".")[0] if self.guide else self.short_name


STEPS: tuple[Step, ...] = (
    Step("welcome", (), "Welcome"),
    Step("servers", (1,), "Servers"),
    Step("clock", (2,), "Clocks"),
    Step("networks", (3,), "Networks and pools"),
    Step("elements", (4,), "Relays and firewalls"),
    Step("settings", (5,), "Failover settings"),
    Step("review", (6, 7), "Review the plan"),
    Step("apply", (8,), "Apply and restart"),
    Step("drill", (9,), "Failover test"),
    # The guide's closing section (geographically separated pairs), which has no number.
    Step("protect", (), "Protection", "+"),
    Step("done", (10,), "Back in operation"),
)
STEP_IDS = tuple(s.id for s in STEPS)
# The pre-flight and upgrade check of an existing pair: reached from the welcome screen,
# outside the deployment's ten steps.
CHECK = "check"

# Which check results each step shows (the registry's); the check engine runs them all at once.
STEP_CHECKS = {step: ids_of(step) for step in steps_with_checks()}


def step(step_id: str) -> Step:
    return STEPS[STEP_IDS.index(step_id)]


def next_step(step_id: str) -> str | None:
    i = STEP_IDS.index(step_id)
    return STEP_IDS[i + 1] if i + 1 < len(STEP_IDS) else None


def previous_step(step_id: str) -> str | None:
    i = STEP_IDS.index(step_id)
    return STEP_IDS[i - 1] if i > 0 else None


@dataclass(frozen=True)
class Network:
    """A subnet of the live primary config, as the networks step offers it."""

    cidr: str
    ranges: tuple[str, ...]
    shared: str | None = None
    peer: str | None = None       # failover peer its pools already refer to

    @property
    def servable(self) -> bool:
        return bool(self.ranges)


@dataclass(frozen=True)
class SkewVerdict:
    status: str                   # pass / warn / fail
    skew: float
    error: float
    method: str
    detail: str
    fix: str | None = None


@dataclass(frozen=True)
class WizardState:
    """Everything the steps learned; replaced (never mutated) as the user goes on."""

    answers: Answers
    checks: tuple = ()                           # CheckResult, from the check engine
    checked: bool = False
    hosts: Mapping[str, Any] = field(default_factory=dict)   # role -> HostInfo
    skew: SkewVerdict | None = None
    networks: tuple[Network, ...] = ()
    differences: tuple[str, ...] = ()
    settings_errors: Mapping[str, str] = field(default_factory=dict)
    plan_ready: bool = False
    plan_confirmed: bool = False
    apply_started: bool = False
    apply_ok: bool | None = None
    apply_reason: str = ""
    rolled_back: bool = False
    drill_passed: bool | None = None
    drill_summary: str = ""
    protect_checks: tuple = ()                   # CheckResult of wizard.flow.protection.survey
    protect_surveyed: bool = False
    protect_error: str = ""                      # why the survey could not run
    firewall_ok: bool | None = None              # None: not applied (not tried)
    firewall_summary: str = ""
    tunnel_ok: bool | None = None
    tunnel_summary: str = ""
    overrides: frozenset[str] = frozenset()      # warning keys the user accepted

    def with_(self, **changes: Any) -> "WizardState":
        return replace(self, **changes)

    def results(self, step_id: str) -> tuple:
        ids = STEP_CHECKS.get(step_id, ())
        return tuple(r for r in self.checks if r.id in ids)

    def chosen(self) -> tuple[Network, ...]:
        pools = self.answers.failover.pools
        return tuple(n for n in self.networks if pools is None or n.cidr in pools)


def gate(step_id: str, state: WizardState) -> Gate:
    """What stands between this step and the next one, given what is known now."""
    rule = _RULES.get(step_id)
    return rule(state) if rule is not None else Gate()


def may_continue(step_id: str, state: WizardState) -> bool:
    return gate(step_id, state).open(state.overrides)


def back_blocked(step_id: str, state: WizardState) -> str | None:
    """Why Back is not possible here, or None."""
    if step_id == "welcome":
        return "this is the first step"
    rolled_back = state.apply_ok is False and state.rolled_back
    if STEP_IDS.index(step_id) >= STEP_IDS.index("apply") and state.apply_started \
            and not rolled_back:
        return "the servers already run the new configuration; going back would not undo it"
    return None


def _servers(state: WizardState) -> Gate:
    if not state.checked:
        return Gate(("connect to both servers and inspect them first",))
    g = judge(state.results("servers"), "servers")
    if not g.reasons and set(state.hosts) != set(ROLES):
        g += Gate(("both servers must be inspected (config, leases, restart command)",))
    return g


def _clock(state: WizardState) -> Gate:
    if state.skew is None:
        return Gate(("the clocks have not been compared yet",))
    # The step's own reading is fresher than the one the checks made.
    from wizard.checks.base import CheckResult

    fresh = CheckResult("clock-skew", None, state.skew.status, state.skew.detail, state.skew.fix)
    return judge([fresh] + [r for r in state.results("clock") if r.id != "clock-skew"], "clock")


def _networks(state: WizardState) -> Gate:
    if not state.networks:
        return Gate(("the primary's subnets have not been read yet",))
    chosen = state.chosen()
    if not chosen:
        return Gate(("choose at least one subnet to put under failover",))
    if not any(n.servable for n in chosen):
        return Gate(("none of the chosen subnets has a pool or range; dhcpd refuses a failover "
                     "peer that no pool refers to",))
    # The chosen subnets' pool differences are what config-lint finds there, said precisely;
    # one acceptance (`--accept config-lint` in deploy) goes past both.
    chosen_diffs = tuple(Warning("config-lint", f"{d}; the plan gives the secondary the "
                                 "primary's pools") for d in state.differences)
    return Gate(warnings=chosen_diffs) + judge(state.results("networks"), "networks")


def _elements(state: WizardState) -> Gate:
    if not state.checked:
        return Gate(("the ports have not been probed yet",))
    relays = state.answers.relays
    # A relay the user confirmed on this screen stands confirmed, as the check would now say.
    results = [r for r in state.results("elements")
               if not (r.id == "relay" and r.status == "warn" and r.host in relays.confirmed)]
    read = {r.host for r in results if r.id == "relay"}
    unread = tuple(f"probe again (Ctrl+R) to check relay {relay} over SSH"
                   for relay in relays.addresses if relay in relays.ssh and relay not in read)
    # A relay added since the probe has no result yet: it is unconfirmed, as the check says.
    added = tuple(Warning("relay", f"confirm that relay {relay} forwards to both servers", relay)
                  for relay in relays.addresses if relay not in relays.ssh
                  and relay not in relays.confirmed and relay not in read)
    return Gate(unread, added) + judge(results, "elements")


def _settings(state: WizardState) -> Gate:
    return Gate(tuple(f"{key.replace('_', ' ')}: {msg}"
                      for key, msg in state.settings_errors.items()))


def _review(state: WizardState) -> Gate:
    if not state.plan_ready:
        return Gate(("the plan has not been computed yet",))
    if not state.plan_confirmed:
        return Gate(("confirm the plan explicitly (tick the confirmation)",))
    return Gate()


def _apply(state: WizardState) -> Gate:
    if state.apply_ok is None:
        return Gate(("apply the plan first" if not state.apply_started
                     else "the new configuration is still being applied",))
    if not state.apply_ok:
        rolled = " (both servers were rolled back)" if state.rolled_back else ""
        return Gate((f"apply failed: {state.apply_reason}{rolled}",))
    return Gate()


def _drill(state: WizardState) -> Gate:
    if state.drill_passed is None:
        return Gate(warnings=(Warning("drill", "the failover test has not run"),))
    if not state.drill_passed:
        return Gate(warnings=(Warning("drill", state.drill_summary or "the failover test failed"),))
    return Gate()


def _protect(state: WizardState) -> Gate:
    """Protection is optional: what it would fix is a warning, and going on without it (the
    tick box) is the explicit, recorded skip."""
    from wizard.flow.protection import exposed, untrusted

    if not state.protect_surveyed:
        return Gate(("the path and the exposure of the ports have not been checked yet",))
    warnings = []
    found = exposed(state.protect_checks)
    if state.firewall_ok is not True:
        if state.firewall_ok is False:
            warnings.append(Warning("protect-firewall", "the firewall rules are not in "
                                    f"place: {state.firewall_summary}"))
        elif state.protect_error:
            warnings.append(Warning("protect-firewall", "the exposure could not be checked "
                                    f"({state.protect_error}) and no firewall rules were "
                                    "applied"))
        elif found:
            many = f"{len(found)} probes reached" if len(found) > 1 else "a probe reached"
            warnings.append(Warning("protect-firewall", f"{many} a port from where it should "
                                    f"not ({found[0].detail}); the firewall rules that stop "
                                    "that are not applied"))
    if untrusted(state.protect_checks) and state.tunnel_ok is not True:
        why = f": {state.tunnel_summary}" if state.tunnel_ok is False else ""
        warnings.append(Warning("protect-tunnel", "the failover dialogue crosses networks not "
                                f"declared trusted and is not tunnelled{why}"))
    return Gate(warnings=tuple(warnings))


_RULES = {"servers": _servers, "clock": _clock, "networks": _networks,
          "elements": _elements, "settings": _settings, "review": _review, "apply": _apply,
          "drill": _drill, "protect": _protect}


# -- failover settings, validated field by field with the answers file's own rules ---------

SETTING_FIELDS = ("name", "primary_address", "secondary_address", "primary_port",
                  "secondary_port", "mclt", "split", "hba", "max_response_delay",
                  "max_unacked_updates", "load_balance_max_seconds")
INT_FIELDS = {"primary_port", "secondary_port", "mclt", "split", "max_response_delay",
              "max_unacked_updates", "load_balance_max_seconds"}
MODES = {"load-balance": 128, "hot-standby": 256}


def mode_of(split: int | None, hba: str | None = None) -> str:
    """How the pair shares its clients: a named split, a custom split, or an hba bitmap."""
    if hba:
        return "hba"
    for mode, value in MODES.items():
        if split == value:
            return mode
    return "custom"


def field_error(key: str, text: str) -> str | None:
    """Why one settings field is invalid, in the answers file's words; None when fine."""
    text = text.strip()
    if key.endswith("_address") and not text:
        return None                  # blank: the address SSH reached is used
    if not text:
        return "required"
    value: Any = text
    if key in INT_FIELDS:
        try:
            value = int(text)
        except ValueError:
            return "must be a whole number"
    try:
        answers_from_dict({"primary": {"host": "p"}, "secondary": {"host": "s"},
                           "failover": {key: value}}, source="settings")
    except InputError as exc:
        return exc.message.split(": ", 2)[-1] + (f" ({exc.hint})" if exc.hint else "")
    return None


def apply_settings(answers: Answers, values: Mapping[str, str]) -> tuple[Answers, dict[str, str]]:
    """New answers from the settings form, and the errors of the fields that did not pass.

    The form gives split or hba, never both (dhcpd takes one); the other is cleared."""
    errors = {k: e for k in SETTING_FIELDS if k in values
              and (e := field_error(k, values[k])) is not None}
    if errors:
        return answers, errors
    changes: dict[str, Any] = {}
    for key in SETTING_FIELDS:
        if key not in values:
            continue
        text = values[key].strip()
        changes[key] = int(text) if key in INT_FIELDS else (text or None)
    if changes.get("hba"):
        changes["split"] = None
    elif "split" in changes:
        changes["hba"] = None
    return answers.with_changes("failover", **changes), {}


# -- networks of the live configs ----------------------------------------------------------

def networks_of(config) -> tuple[Network, ...]:
    """The subnets of a conf-engine Config, with their ranges and existing failover refs."""
    out = []
    for sub in config.subnets:
        if sub.cidr is None:
            continue
        ranges = tuple(r.text() for p in sub.pools for r in p.ranges) + \
            tuple(r.text() for r in sub.bare_ranges)
        peers = {p.peer for p in sub.pools if p.peer}
        out.append(Network(sub.cidr, ranges, sub.shared.name if sub.shared else None,
                           next(iter(peers)) if peers else None))
    return tuple(out)


def pool_differences(primary, secondary, chosen: tuple[str, ...] | None) -> tuple[str, ...]:
    """Sentences on where the secondary's pools differ from the primary's, for the chosen
    subnets (None: all)."""
    from wizard.conf.pairing import compare
    from wizard.conf.model import Subnet

    def relevant(holder) -> bool:
        return chosen is None or not isinstance(holder, Subnet) or holder.cidr in chosen

    return tuple(d.sentence() for d in compare(primary, secondary, relevant))
