"""Shared by the TUI tests: a fake engine with fixed results, and Pilot helpers.

The fake has the methods of wizard.flow.engine.Engine and answers instantly with recorded-looking
data, so screens render the same every time (snapshots) and navigation tests run in
milliseconds. The lab tests use the real Engine.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console
from rich.text import Text
from textual.css.query import NoMatches

from wizard.answers import answers_from_dict
from wizard.ops.transaction import ApplyResult
from wizard.checks.base import CheckResult
from wizard.conf.plan import FilePlan, PairPlan
from wizard.flow.deployment import HostInfo
from wizard.ops.drill import DrillResult, DrillStep
from wizard.ops.omapi import FailoverState, StateSample
from wizard.flow.steps import Network, SkewVerdict

ANSWERS = answers_from_dict({
    "primary": {"host": "198.51.100.11", "user": "root"},
    "secondary": {"host": "198.51.100.12", "user": "root"},
    "failover": {"pools": ["198.51.100.0/24"]},
}, source="pair.toml")

BEFORE = "subnet 198.51.100.0 netmask 255.255.255.0 {\n\trange 198.51.100.100 198.51.100.199;\n}\n"
AFTER = ('failover peer "failover-partner" {\n\tprimary;\n\tmclt 3600;\n\tsplit 128;\n}\n'
         'key omapi_key {\n\talgorithm hmac-md5;\n\tsecret c2VjcmV0c2VjcmV0c2VjcmV0;\n}\n'
         "subnet 198.51.100.0 netmask 255.255.255.0 {\n\tpool {\n"
         '\t\tfailover peer "failover-partner";\n\t\trange 198.51.100.100 198.51.100.199;\n\t}\n}\n')
SECRET = "c2VjcmV0c2VjcmV0c2VjcmV0"


def check_results(skew_status: str = "pass") -> list[CheckResult]:
    return [
        CheckResult("ssh", "primary", "pass", "root@198.51.100.11:22 (host key ssh-ed25519 "
                    "SHA256:AAAA)"),
        CheckResult("ssh", "secondary", "pass", "root@198.51.100.12:22 (host key ssh-ed25519 "
                    "SHA256:BBBB)"),
        CheckResult("dhcpd-version", "primary", "pass", "primary: ISC dhcpd 4.4.3-P1"),
        CheckResult("dhcpd-version", "secondary", "pass", "secondary: ISC dhcpd 4.4.3-P1"),
        CheckResult("version-parity", None, "pass", "both run dhcpd 4.4.3-P1"),
        CheckResult("ntp", "primary", "pass", "primary: chrony, stratum 3, synchronised"),
        CheckResult("ntp", "secondary", "pass", "secondary: chrony, stratum 3, synchronised"),
        CheckResult("clock-skew", None, skew_status, "secondary is 0.0 s behind primary"),
        CheckResult("dhcp-listen", "primary", "pass", "primary: dhcpd pid 100 listens on "
                    "udp/67, interfaces eth0"),
        CheckResult("dhcp-listen", "secondary", "pass", "secondary: dhcpd pid 200 listens on "
                    "udp/67, interfaces eth0"),
        CheckResult("port-failover", "primary", "pass", "primary -> secondary 198.51.100.12:647: "
                    "reachable, nothing listening yet (fine before deployment)"),
        CheckResult("port-failover", "secondary", "pass", "secondary -> primary "
                    "198.51.100.11:647: reachable, nothing listening yet (fine before deployment)"),
        CheckResult("port-omapi", "primary", "pass", "this host -> primary 198.51.100.11:7911: "
                    "reachable, nothing listening yet"),
        CheckResult("port-omapi", "secondary", "pass", "this host -> secondary "
                    "198.51.100.12:7911: reachable, nothing listening yet"),
        CheckResult("config-lint", None, "pass", "no failover configured yet; the two configs "
                    "agree"),
    ]


def host_info(role: str, address: str) -> HostInfo:
    facts = SimpleNamespace(
        os=SimpleNamespace(name="Debian GNU/Linux 12 (bookworm)"),
        dhcpd=SimpleNamespace(version="4.4.3-P1", path="/usr/sbin/dhcpd"),
        service=SimpleNamespace(manager="systemd", restart="systemctl restart isc-dhcp-server"))
    return HostInfo(role, address, "/etc/dhcp/dhcpd.conf", "running dhcpd -cf",
                    "/var/lib/dhcp/dhcpd.leases", "systemctl restart isc-dhcp-server",
                    "/usr/sbin/dhcpd", facts)


def sample(role: str, local: str, partner: str) -> StateSample:
    return StateSample(0.0, role, FailoverState("failover-partner", local, partner, 3600,
                                                None, None, role, 60))


class FakeSession:
    """What a screen asks of the engine's session itself: the report, written at step 10."""

    def __init__(self, path: str):
        self.path = Path(path)
        self.reports = 0

    def report(self) -> tuple[Path, Path]:
        self.reports += 1
        return self.path / "report.md", self.path / "report.html"


class FakeEngine:
    """wizard.flow.engine.Engine's interface with fixed answers; `gate` can hold a call."""

    def __init__(self, skew: float = 0.004, apply_ok: bool = True):
        self.cancel = threading.Event()
        self.sink = lambda role, step, msg: None
        self.session_path = "/var/tmp/dhcp-wizard/sessions/20250101T000000Z"
        self.session = FakeSession(self.session_path)
        self.skew, self.apply_ok = skew, apply_ok
        self.recorded: list = []
        self.tick = 0.0
        self.hold: threading.Event | None = None   # set -> apply blocks until released

    def now(self) -> float:
        self.tick += 0.5
        return self.tick

    def record(self, step, kind, **data):
        self.recorded.append((step, kind, data))

    def record_acceptance(self, step, gate, accepted):
        from wizard.flow.policy import record_acceptance

        record_acceptance(self, step, gate, accepted)

    def event(self, step, kind, **data):       # record_acceptance writes to a session
        self.record(step, kind, **data)

    def close(self, status="done"):
        pass

    def connect(self, answers):
        return {}

    def trust(self, error):
        return "line"

    def check(self, answers, on_result=None):
        results = check_results("fail" if abs(self.skew) > 5 else "pass")
        for r in results:
            if on_result:
                on_result(r)
        return results

    def inspect(self, answers):
        return {"primary": host_info("primary", "198.51.100.11"),
                "secondary": host_info("secondary", "198.51.100.12")}

    def measure_clock(self, answers):
        status = "fail" if abs(self.skew) > 5 else "pass"
        return SkewVerdict(status, self.skew, 0.002, "ntp",
                           f"secondary is {abs(self.skew):.1f} s ahead of primary (±0.002 s, "
                           "via ntp); limit 5 s; dhcpd refuses its partner beyond 60 s",
                           None if status == "pass" else "run NTP on both peers")

    def networks(self, answers):
        return ((Network("198.51.100.0/24", ("198.51.100.100-198.51.100.199",)),
                 Network("10.9.0.0/24", ("10.9.0.50-10.9.0.99",), shared="branch")),
                self.differences(answers.failover.pools))

    def differences(self, chosen):
        if chosen is not None and "10.9.0.0/24" not in chosen:
            return ()
        return ("subnet 10.9.0.0/24 (with pools 10.9.0.50-10.9.0.99) is on the primary only",)

    def plan(self, answers):
        return PairPlan([FilePlan("primary", "/etc/dhcp/dhcpd.conf", BEFORE, AFTER),
                         FilePlan("secondary", "/etc/dhcp/dhcpd.conf", BEFORE,
                                  AFTER.replace("\tmclt 3600;\n\tsplit 128;\n", "")
                                  .replace("primary;", "secondary;"))],
                        SECRET, "generated and written to /root/omapi.secret (mode 0600)",
                        # What the real plan notes for BEFORE: the bare range it wraps.
                        notes=[f"{role}: /etc/dhcp/dhcpd.conf:2: range 198.51.100.100-"
                               "198.51.100.199 wrapped in a pool so that it can join failover"
                               for role in ("primary", "secondary")])

    def mask(self, text):
        return text.replace(SECRET, "***REDACTED***")

    def apply(self, answers):
        for role in ("primary", "secondary"):
            for step, msg in (("validated", f"`dhcpd -t` on {role} accepts the new config"),
                              ("backed-up", "backups: /etc/dhcp/dhcpd.conf.bak"),
                              ("switched", "/etc/dhcp/dhcpd.conf is the new config")):
                self.sink(role, step, msg)
        if self.hold is not None:
            while not self.cancel.is_set():
                time.sleep(0.02)
            self.sink("pair", "rollback", "rolling both back: cancelled by the operator")
            return ApplyResult(False, "cancelled", "cancelled by the operator",
                               rolled_back=True)
        for role in ("primary", "secondary"):
            self.sink(role, "restarted", "dhcpd runs as pid 300")
            self.sink(role, "state", "(start) -> normal: both servers talk to each other")
        if not self.apply_ok:
            return ApplyResult(False, "normal", "secondary never reached normal",
                               rolled_back=True)
        return ApplyResult(True, "done", "", waited=1.5)

    def drill(self, answers, roles=("primary",)):
        self.drilled = roles
        self.sink("drill", "precondition", "ok: both peers are normal")
        self.sink("drill", "state", "primary: normal -> shutdown: shutting down")
        self.sink("drill", "state", "secondary: normal -> partner-down: serves alone")
        self.sink("drill", "shutdown-primary", "ok: primary shut down gracefully")
        self.sink("drill", "service", "ok: dhclient got 198.51.100.150 from 198.51.100.12 in 1.03 s")
        self.sink("drill", "state", "primary: shutdown -> normal: back")
        self.sink("drill", "state", "secondary: partner-down -> normal: back")
        self.sink("drill", "recover-primary", "ok: both peers are normal again")
        steps = [DrillStep("precondition", True, "both peers are normal", 0.0),
                 DrillStep("shutdown-primary", True, "ok", 0.1, {"seconds_to_partner_down": 0.1}),
                 DrillStep("service", True, "ok", 1.0, {"proven": True}),
                 DrillStep("recover-primary", True, "ok", 2.0, {"seconds_to_normal": 2.0})]
        return DrillResult(True, True, steps, [], "drill passed: the survivor served a real "
                           "client and both peers are normal")

    def states(self, answers):
        return {r: sample(r, "normal", "normal") for r in ("primary", "secondary")}

    # -- the protection step: what a routed pair with OMAPI open to its clients looks like --
    def protect_survey(self, answers):
        return protect_results()

    def protect_plan(self, answers, confirm_timeout=None):
        from wizard.ops.firewall_rules import Detected, Plan, diff

        self.planned_admin = answers.protect.admin or ("198.51.100.1/32",)
        found, plans = {}, {}
        for role, peer in (("primary", "198.51.100.76"), ("secondary", "198.51.100.43")):
            found[role] = Detected("nftables", "nftables ruleset in use",
                                   effects={"519/tcp": "accept"})
            plans[role] = Plan(role, 519 if role == "primary" else 520, peer, 7911,
                               self.planned_admin)
        job = SimpleNamespace(found=found, plans=plans, timeout=confirm_timeout or 60.0)
        from wizard.flow.protection import FirewallPlan

        return FirewallPlan(job, {r: diff("", plans[r].table, r) for r in plans})

    def protect_apply(self, plan):
        from wizard.ops.firewall_apply import Outcome

        self.sink("pair", "firewall", "rules in place on primary, secondary; confirming over "
                  "new SSH connections")
        if self.hold is not None:
            while not self.cancel.is_set():
                time.sleep(0.02)
            self.recorded.append(("protect", "restored", {"why": self.cancel.reason}))
            from wizard.flow.protection import Cancelled

            raise Cancelled(self.cancel.reason)
        probes = [{"from": "wizard", "to": "primary", "port": 7911, "what": "OMAPI",
                   "expect": "reach", "outcome": "open", "ok": True},
                  {"from": "the lab's client segment (c)", "to": "primary", "port": 7911,
                   "what": "OMAPI", "expect": "blocked", "outcome": "timeout", "ok": True}]
        return Outcome(True, "applied and verified (primary: persisted, secondary: persisted)"
                       ": wizard->primary:7911 OMAPI open (expected reach)", probes, True)

    def protect_tunnel_plan(self, answers):
        from wizard.flow.tunnel import TunnelPlan
        from wizard.ops.tunnel_conf import TunnelEnd

        under = {"primary": "198.51.100.43", "secondary": "198.51.100.76"}
        ends = {r: TunnelEnd(r, f"10.99.0.{i}/30", under[r], 51820, "wg-dhcp")
                for i, r in ((1, "primary"), (2, "secondary"))}
        found = {r: {"impl": ["userspace"], "manager": [""]} for r in under}
        return TunnelPlan(under, ends, found, SimpleNamespace(changed=True, notes=[]),
                          answers, answers, [])

    def protect_tunnel_apply(self, answers, tunnel_plan):
        from wizard.flow.tunnel import TunnelRun

        self.tunneled = True
        self.sink("primary", "tunnel-up", "wg-dhcp up (wireguard-go), handshake in 0.4 s")
        if self.hold is not None:
            while not self.cancel.is_set():
                time.sleep(0.02)
            return TunnelRun(False, "transaction", f"cancelled: {self.cancel.reason}",
                             rolled_back=True)
        proof = SimpleNamespace(states=["primary normal, secondary normal for 20 s with "
                                        "519,520/tcp dropped on the underlay"])
        return TunnelRun(True, "proof", "normal over the tunnel, and stayed normal 20 s with "
                         "the failover ports dropped on the underlay",
                         public_keys={"primary": "PUBKEYP=", "secondary": "PUBKEYS="},
                         sockets={"primary": [("10.99.0.1:519", "10.99.0.2:520")]},
                         proof=proof)


def protect_results() -> tuple:
    return (
        CheckResult("path", "primary", "warn", "primary 198.51.100.43 -> secondary "
                    "198.51.100.76: routed, 2 hops (tracepath) via 198.51.100.33; failover "
                    "traffic crosses networks not declared trusted (198.51.100.33)",
                    "tunnel it"),
        CheckResult("path-rtt", "primary", "pass", "primary -> secondary 198.51.100.76: round "
                    "trip 0.1/0.1/0.2 ms (min/avg/max), 0% loss of 10 (ping)"),
        CheckResult("path-mtu", "primary", "pass", "primary -> secondary 198.51.100.76: path "
                    "MTU 1500 (tracepath)"),
        CheckResult("exposure", "the lab's client segment", "fail", "the lab's client segment "
                    "-> primary OMAPI 198.51.100.43:7911: open; OMAPI reachable from a client "
                    "segment", "dhcp-wizard protect firewall --answers F"),
        CheckResult("host-firewall", "primary", "pass", "primary: nftables ruleset in use"),
    )


def plain(widget) -> str:
    """A Static's content as plain text (markup and renderables alike)."""
    content = widget.content
    if isinstance(content, str):
        return Text.from_markup(content).plain
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(content)
    return console.export_text()


async def until(pilot, condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        try:
            if condition():
                return True
        except (AttributeError, NoMatches):
            # The screen the condition reads is not up yet: on a busy machine a modal just
            # answered can still be on top for a while (seen in CI as a ConfirmModal
            # "has no attribute 'running'").
            continue
    return bool(condition())  # at the deadline, whatever still stands in the way is raised


async def click(pilot, app, selector: str, timeout: float = 10.0) -> None:
    """Click a widget as the operator would: scrolled into view first. A widget below the
    fold has an empty region, and the pilot's click then lands at (0, 0), the header's
    command-palette icon (seen in CI: the palette opened on the protection step, whose
    outcome text had pushed the tick box down)."""
    assert await until(pilot, lambda: bool(app.screen.query(selector)), timeout), \
        f"no {selector} on {type(app.screen).__name__}"
    widget = app.screen.query_one(selector)
    widget.scroll_visible(animate=False, immediate=True)
    assert await until(pilot, lambda: widget.region.area > 0, timeout), \
        f"{selector} on {type(app.screen).__name__} never came into view"
    assert await pilot.click(widget), f"the click at {selector} landed elsewhere"


async def answer(pilot, app, button: str = "yes", timeout: float = 10.0) -> None:
    """Answer the modal on top with one of its buttons, and wait until it has gone. A click
    at a modal just pushed can miss on a busy machine (its buttons not laid out yet): the
    button is pressed as a click would press it."""
    assert await until(pilot, lambda: bool(app.screen.query(f"#{button}")), timeout), \
        f"no #{button} on {type(app.screen).__name__}"
    modal = app.screen
    modal.query_one(f"#{button}").press()
    assert await until(pilot, lambda: app.screen is not modal, timeout), \
        f"{type(modal).__name__} stayed up after #{button}"


def next_enabled(app) -> bool:
    return not app.screen.query_one("#next").disabled
