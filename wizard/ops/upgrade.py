"""The work in one peer's upgrade window, done while that peer is out of service and its
partner serves every client alone (wizard.ops.drill takes it out and brings it back).

Headless, the window runs the operator's command on the host, detached under the drill's
guard (a dropped link or a killed wizard never stops a package manager half-way). In the
TUI it waits for the operator's "done". Either way it ends by asking the host's dhcpd, the
binary that will start next, for its version and for its verdict on the config it will run
(`dhcpd -t`), and by linting that config against its partner's as a pair (a package's
post-install may have replaced it): a peer whose new dhcpd rejects its config, or whose
config no longer agrees with its partner's, is not restarted, so the old one stays in
shutdown and the survivor keeps serving.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from wizard.facts.parse import dhcpd_binary
from wizard.remote import shell as sh
from wizard.roles import OTHER

COMMAND_TIMEOUT = 1800.0    # a package upgrade over a slow mirror; --command-timeout


def read_version(conn, dhcpd: str, running: bool = False) -> str | None:
    """What the dhcpd binary on disk says it is ("4.4.3-P1"); None when it will not say.
    With `running`, the release of the dhcpd that runs now, where one does: its program as
    it was started (/proc/PID/exe), which an upgrade on disk does not change."""
    if running:
        return read_running(conn, dhcpd).version
    res = conn.run(f"{sh.q(dhcpd)} --version 2>&1", privileged=True, timeout=15,
                   label="dhcpd --version")
    return dhcpd_binary(res.stdout).version


class Running(NamedTuple):
    pid: str | None          # None: no dhcpd runs
    version: str | None      # of the running process, else of the binary on disk
    started: int | None      # epoch seconds, by the host's clock


def read_running(conn, dhcpd: str) -> Running:
    # Just after a restart the first dhcpd listed may be the one that is daemonizing and
    # about to exit (its /proc/PID/exe gone before it answers --version; seen in CI): the
    # list is read again, a few times over 1.5 s, until the one found answers.
    cmd = (f"for i in 1 2 3 4 5; do p=$({sh.dhcpd_pids()} | head -n 1); "
           "[ -z \"$p\" ] && break; "
           "case \"$(/proc/$p/exe --version 2>&1)\" in *dhcpd*) break ;; esac; sleep 0.3; "
           "done; echo \"pid=$p\"; "
           "if [ -n \"$p\" ]; then e=$(ps -o etimes= -p \"$p\" 2>/dev/null | tr -d ' '); "
           "case \"$e\" in ''|*[!0-9]*) echo started= ;; "
           "*) echo \"started=$(( $(date +%s) - e ))\" ;; esac; "
           f"/proc/$p/exe --version 2>&1; else echo started=; {sh.q(dhcpd)} --version 2>&1; fi")
    res = conn.run(cmd, privileged=True, timeout=15, label="dhcpd --version")
    lines = res.stdout.split("\n", 2)
    if len(lines) < 3 or not lines[0].startswith("pid=") or not lines[1].startswith("started="):
        return Running(None, dhcpd_binary(res.stdout).version, None)
    started = lines[1][8:].strip()
    return Running(lines[0][4:].strip() or None, dhcpd_binary(lines[2]).version,
                   int(started) if started.isdigit() else None)


@dataclass
class PeerRecord:
    role: str
    before: str | None = None
    after: str | None = None
    command_rc: int | None = None
    output: str = ""
    validated: bool = False
    lint: list[dict] = field(default_factory=list)   # the pair's findings after the window
    running: str | None = None      # what the restarted dhcpd reports, read from its process
    pid_before: str | None = None   # the dhcpd that ran when the window began
    out_since: int | None = None    # resumed: shut down since then (epoch, the host's clock)
    restarted: bool = False         # another dhcpd process runs than when the window began
    restarted_in_window: bool = False  # ... and it runs the installed release
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class UpgradeWindow:
    """Called by the drill as window(role, guard) -> (done, what happened)."""

    def __init__(self, conn_for: Callable[[str], object], dhcpd: dict[str, str],
                 config: dict[str, str], *, command: str | None = None,
                 operator_done: Callable[[str], bool] | None = None,
                 timeout: float = COMMAND_TIMEOUT, session=None,
                 progress: Callable[[str, str], None] | None = None):
        if (command is None) == (operator_done is None):
            raise ValueError("a window runs a command or waits for the operator, not both")
        self.conn_for, self.dhcpd, self.config = conn_for, dhcpd, config
        self.command, self.operator_done = command, operator_done
        self.timeout = timeout
        self.session = session
        self.progress = progress or (lambda step, msg: None)
        self.records: dict[str, PeerRecord] = {}

    def before(self, role: str) -> str | None:
        rec = self.records.setdefault(role, PeerRecord(role))
        now = read_running(self.conn_for(role), self.dhcpd[role])
        rec.pid_before, rec.before = now.pid, now.version
        return rec.before

    def out_since(self, role: str, epoch: int | None) -> None:
        """A peer resumed after an earlier run left it out: it has been shut down since
        `epoch` (its failover STOS), so a dhcpd started after that was restarted while out."""
        rec = self.records.setdefault(role, PeerRecord(role))
        # The pid read at the start of this run is the restarted one already, if any.
        rec.out_since, rec.pid_before = epoch, None

    def __call__(self, role: str, net) -> tuple[bool, str]:
        rec = self.records.setdefault(role, PeerRecord(role))
        if rec.before is None:
            self.before(role)
        if self.command is not None:
            done, what = self._command(role, net, rec)
        else:
            done, what = self._operator(role, rec)
        if not done:
            return False, what
        return self.verify(role, net, what)

    def verify(self, role: str, net=None, what: str = "") -> tuple[bool, str]:
        """The binary that will start next: its version, `dhcpd -t` of the config, and the
        config linted against its partner's."""
        rec = self.records.setdefault(role, PeerRecord(role))
        conn = self.conn_for(role)
        rec.after = read_version(conn, self.dhcpd[role])
        # Package upgrades restart the service themselves (Debian's postinst, RPM's
        # %postun try-restart): a new process on the installed release needs no second
        # restart, which would cost its clients a few seconds for nothing.
        now = read_running(conn, self.dhcpd[role])
        rec.restarted = bool(now.pid and (
            now.pid != rec.pid_before if rec.pid_before else
            rec.out_since is not None and now.started is not None
            and now.started > rec.out_since))
        rec.restarted_in_window = bool(rec.restarted and rec.after and now.version == rec.after)
        res = conn.run(sh.validate(self.dhcpd[role], self.config[role]), privileged=True,
                       timeout=120, label="dhcpd -t")
        changed = (f"dhcpd {rec.before or '?'} -> {rec.after or '?'}"
                   if rec.before and rec.after != rec.before
                   else f"dhcpd reports {rec.after or '?'}")
        what = f"{what}; " if what else ""
        rec.validated = res.ok
        if not res.ok:
            self._record(rec)
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-6:])
            return False, (f"{what}{changed}, and the dhcpd that would start next rejects "
                           f"{self.config[role]} (`dhcpd -t` exited {res.exit_code}):\n{tail}")
        linted, said = self.lint(role)
        self._record(rec)
        if not linted:
            return False, f"{what}{changed}; `dhcpd -t` accepts {self.config[role]}, but {said}"
        return True, f"{what}{changed}; `dhcpd -t` accepts {self.config[role]}; {said}"

    def lint(self, role: str) -> tuple[bool, str]:
        """The config this peer will run, linted against its partner's as a pair (the
        check's config-lint): an error keeps it out of service, a warning is said."""
        from wizard.conf.lint import lint_pair
        from wizard.facts import read_config

        rec = self.records.setdefault(role, PeerRecord(role))
        configs = {}
        for r in (role, OTHER[role]):
            config, summary = read_config(self.conn_for(r), self.config[r])
            if config is None:
                rec.lint = [{"id": "unreadable", "severity": "error", "location":
                             self.config[r], "message": summary.get("error", "")}]
                return False, (f"{r}'s {self.config[r]} cannot be read as a config to lint "
                               f"it: {summary.get('error')}")
            configs[r] = config
        findings = lint_pair(configs["primary"], configs["secondary"])
        rec.lint = [f.as_dict() for f in findings]
        errors = [f for f in findings if f.severity == "error"]
        warns = [f for f in findings if f.severity == "warn"]
        if errors:
            return False, (f"the two configs no longer agree as a failover pair "
                           f"({len(errors)} lint error(s)): "
                           + " | ".join(f.render() for f in errors[:3]))
        if warns:
            return True, (f"lint: {len(warns)} warning(s), no error: "
                          + " | ".join(f.render() for f in warns[:2]))
        return True, "lint: the two configs agree as a pair"

    def restarted_while_out(self, role: str) -> bool:
        """The peer's dhcpd was restarted during its window (drill.Drill._reconcile)."""
        rec = self.records.get(role)
        return rec is not None and rec.restarted

    def already_running(self, role: str) -> str | None:
        """Why no restart is needed after the return, or None when one is."""
        rec = self.records.get(role)
        if rec is None or not rec.restarted_in_window:
            return None
        # No pid in the sentence: a resumed peer has no "before" one (out_since).
        return (f"{role} already runs dhcpd {rec.after}: the window's own work restarted it, "
                "so it is not restarted again")

    def confirm_running(self, role: str) -> tuple[bool, str]:
        """After the restart: the process that runs now is the release that was installed."""
        rec = self.records.setdefault(role, PeerRecord(role))
        rec.running = read_version(self.conn_for(role), self.dhcpd[role], running=True)
        self._record(rec)
        if rec.after and rec.running != rec.after:
            return False, (f"{role}'s running dhcpd reports {rec.running or '?'}, not the "
                           f"installed {rec.after}: it was not restarted onto the new release")
        return True, f"{role} runs dhcpd {rec.running or '?'}"

    def _command(self, role: str, net, rec: PeerRecord) -> tuple[bool, str]:
        last = [0.0]

        def waiting(seconds: float) -> None:
            if seconds - last[0] >= 10:
                last[0] = seconds
                self.progress("window", f"{role}: `{self.command}` still running "
                              f"({seconds:.0f} s)")

        self.progress("window", f"{role}: running `{self.command}` (detached on the host, "
                      f"up to {self.timeout:.0f} s)")
        rc, out = net.run_window(self.command, self.timeout, on_wait=waiting)
        rec.command_rc, rec.output = rc, out[-2000:]
        self._record(rec)
        if rc is None:
            return False, (f"`{self.command}` is still running on {role} after "
                           f"{self.timeout:.0f} s (it goes on there; --command-timeout "
                           "gives it longer)")
        if rc != 0:
            tail = "\n".join(out.strip().splitlines()[-6:])
            return False, f"`{self.command}` exited {rc} on {role}:\n{tail}"
        last_line = out.strip().splitlines()[-1] if out.strip() else "no output"
        return True, f"`{self.command}` exited 0 ({last_line[:160]})"

    def _operator(self, role: str, rec: PeerRecord) -> tuple[bool, str]:
        self.progress("window", f"{role} is out of service: upgrade it now, then continue")
        if not self.operator_done(role):
            return False, f"the operator stopped the upgrade while {role} was out of service"
        return True, "the operator upgraded it"

    def _record(self, rec: PeerRecord) -> None:
        if self.session is not None:
            self.session.event("upgrade", "window", host=rec.role, **{
                k: v for k, v in rec.as_dict().items() if k != "role"})


class OperatorGate:
    """The TUI's pause: the window waits until the operator says done (or stops).

    A cancel (Esc, quitting, SIGTERM/SIGHUP) while it waits ends the wait as "done": the
    peer is then checked (version, `dhcpd -t`, lint) and brought back as it is, as the
    drill puts a peer back when it is cancelled, and as the guard would if the wizard died.
    Only Stop leaves it out of service."""

    def __init__(self, cancel: threading.Event | None = None) -> None:
        self._event = threading.Event()
        self.cancel = cancel
        self.waiting_for: str | None = None
        self._go_on = False

    def __call__(self, role: str) -> bool:
        self.waiting_for = role
        try:
            while not self._event.wait(0.2):
                if self.cancel is not None and self.cancel.is_set():
                    return True
            return self._go_on
        finally:
            self._event.clear()
            self.waiting_for = None

    def done(self, go_on: bool = True) -> None:
        self._go_on = go_on
        self._event.set()
