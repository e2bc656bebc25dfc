"""Command line: the contract in ../shared/reference/cli.md.

The parser lives here; each subcommand's work lives in wizard/commands/<name>.py and is
imported only when that subcommand runs, so `--help` and the TUI start fast.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys

from wizard import __version__
from wizard.errors import INTERNAL_ERROR_EXIT, WizardError


class _Parser(argparse.ArgumentParser):
    """argparse, but an unknown option is reported by the parser of the command it was given
    to: stock argparse hands a subcommand's leftovers back to the top-level parser, so
    `check --bogus` printed the usage of `dhcp-wizard` rather than of `check`."""

    _args: list[str] | None = None

    def parse_known_args(self, args=None, namespace=None):
        self._args = list(sys.argv[1:] if args is None else args)
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    def error(self, message: str):
        if "arguments are required" in message and self._args is not None:
            # argparse checks required options before it looks at leftovers, so `check
            # --bogus` would only say --answers is missing: the typo is the likelier problem.
            unknown = self._unknown(self._args)
            if unknown:
                message = f"unrecognized arguments: {' '.join(unknown)} (and {message})"
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n  fix: see `{self.prog} --help`\n")

    def _unknown(self, args: list[str]) -> list[str]:
        required = [a for a in self._actions if a.required]
        saved, self._args = self._args, None
        try:
            for action in required:
                action.required = False
            return argparse.ArgumentParser.parse_known_args(self, args)[1]
        except SystemExit:
            return []
        finally:
            for action in required:
                action.required = True
            self._args = saved


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or (command) only that subcommand's parser beside the global
    options: the others would only be built to be thrown away, which costs a plan timed
    against `dhcpd -t` a fortieth of its time."""
    p = _Parser(
        prog="dhcp-wizard",
        description="Set up, check and drill ISC DHCP failover pairs. Without a command, "
                    "starts the interactive wizard.",
    )
    p.add_argument("--version", action="version", version=f"dhcp-wizard {__version__}")
    p.add_argument("--answers", metavar="FILE", help="answers file (TOML) that pre-fills the wizard")
    p.add_argument("--session", metavar="DIR", help="where the session is recorded")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, add in _COMMANDS.items():
        if command is None or name == command:
            add(sub)
    return p


def _lab_parser(sub) -> None:
    lab = sub.add_parser("lab", help="the built-in local lab: two real dhcpd servers and a client")
    lab_sub = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    up = lab_sub.add_parser("up", help="create the lab (harmless when it is already up)")
    up.add_argument("--skew-secondary", type=float, default=0.0, metavar="S",
                    help="run the secondary's clock S seconds off (NTP, date over SSH, dhcpd)")
    _lab_common(up)
    up.add_argument("--subnet", metavar="CIDR",
                    help="the lab's subnet, a /24 or a /25 of 198.51.100.0/24 or "
                    "203.0.113.0/24 (default 198.51.100.0/24)")
    up.add_argument("--topology", choices=("flat", "routed"), default=None,
                    help="flat (default): servers and client on one segment; routed: the "
                    "servers on two sites, the client behind a router running dhcrelay")
    up.add_argument("--flavor-primary", choices=("debian", "rhel"), default=None,
                    help="lay the primary out as Debian (default) or RHEL 9 / Rocky")
    up.add_argument("--flavor-secondary", choices=("debian", "rhel"), default=None,
                    help="lay the secondary out as Debian (default) or RHEL 9 / Rocky")
    for role in ("primary", "secondary"):
        up.add_argument(f"--firewall-{role}", choices=("none", "nftables", "firewalld",
                                                       "iptables"),
                        default=None, help=f"a host firewall on the {role}: none (default), "
                        "nftables (an input ruleset: policy drop, SSH, DHCP, failover, OMAPI "
                        "open), firewalld (the real daemon; DHCP, failover, OMAPI open) or "
                        "iptables (iptables-legacy rules from /etc/iptables/rules.v4, the same "
                        "ports open)")
    up.add_argument("--no-root-login", action="store_true", default=None,
                    help="sshd refuses root; the answers log in as the lab's sudo user")
    down = lab_sub.add_parser("down", help="remove every namespace, mount, link and process of the lab")
    _lab_common(down)
    status = lab_sub.add_parser("status", help="describe the lab")
    _lab_common(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    lease = lab_sub.add_parser("lease", help="obtain a lease from the client namespace with dhclient")
    _lab_common(lease)
    lease.add_argument("--timeout", type=float, default=20.0, metavar="S")
    lease.add_argument("--new-client", action="store_true",
                       help="use a fresh MAC address, as a client the servers never saw")
    lease.add_argument("--json", action="store_true")
    relay = lab_sub.add_parser(
        "relay", help="routed lab: show which servers the relay forwards to, or change it")
    _lab_common(relay)
    which = relay.add_mutually_exclusive_group()
    which.add_argument("--only", choices=("primary", "secondary"),
                       help="forward to this server alone (a misconfigured relay, on purpose)")
    which.add_argument("--both", action="store_true", help="forward to both servers again")
    relay.add_argument("--json", action="store_true")
    probe = lab_sub.add_parser(
        "probe", help="ask for an address every S seconds from the client namespace and report "
        "every request that went unanswered (DISCOVER/OFFER only: no lease is taken)")
    _lab_common(probe)
    probe.add_argument("--every", type=_probe_interval, default=1.0, metavar="S",
                       help="seconds between requests, 0.5 to 60 (default 1)")
    probe.add_argument("--for", dest="duration", type=_probe_duration, default=30.0,
                       metavar="S", help="how long to probe, 1 to 300 seconds (default 30); "
                       "Ctrl-C ends it early with the report")
    probe.add_argument("--json", action="store_true")


def _check_parser(sub) -> None:
    check = sub.add_parser("check", help="pre-flight and upgrade checks of a pair; changes nothing")
    _answers(check)
    check.add_argument("--json", action="store_true")
    _session(check)


def _plan_parser(sub) -> None:
    plan = sub.add_parser("plan", help="compute both new configs and print unified diffs")
    _answers(plan)
    plan.add_argument("--from", dest="from_files", nargs=2,
                      metavar=("PRIMARY_CONF", "SECONDARY_CONF"),
                      help="plan from local copies instead of reading the servers over SSH")
    plan.add_argument("--out", metavar="DIR",
                      help="write primary.conf and secondary.conf (mode 0600) and their diffs, "
                      "primary.diff and secondary.diff (secret masked), here")
    _session(plan)


def _lint_parser(sub) -> None:
    lint = sub.add_parser("lint", help="lint two local configs against each other as a failover pair")
    lint.add_argument("primary_conf", metavar="PRIMARY_CONF")
    lint.add_argument("secondary_conf", metavar="SECONDARY_CONF")
    lint.add_argument("--json", action="store_true")


def _deploy_parser(sub) -> None:
    deploy = sub.add_parser("deploy", help="the whole guide without the TUI")
    _answers(deploy)
    deploy.add_argument("--yes", action="store_true", help="apply without asking")
    deploy.add_argument("--no-drill", action="store_true", help="skip the failover drill")
    deploy.add_argument("--accept", type=_accepted, action="extend", default=[],
                        metavar="ID[,ID]",
                        help="go on past the warnings of these checks (by id, as `check` "
                             "prints them); recorded in the session")
    deploy.add_argument("--normal-timeout", type=_seconds, metavar="S",
                        help="roll back when the pair is not normal S seconds after the "
                        "restarts (default: from mclt and max-response-delay)")
    deploy.add_argument("--settle", type=_settle, metavar="S",
                        help="seconds both peers must stay normal, with dhcpd running, "
                        "before the change is committed (default 10; 0 to skip)")
    _session(deploy)


def _drill_parser(sub) -> None:
    drill = sub.add_parser("drill", help="live failover test on a pair that already runs failover")
    _answers(drill)
    _session(drill)
    drill.add_argument("--roles", type=_roles, default=("primary",), metavar="ROLE[,ROLE]",
                       help="which peers to take out of service, one after the other "
                            "(default: primary; primary,secondary drills both)")


def _upgrade_parser(sub) -> None:
    upgrade = sub.add_parser(
        "upgrade", help="rolling upgrade of a running pair: one peer at a time, no client "
        "refused", description="Takes each peer out of service in turn (its partner serves "
        "everyone), runs the upgrade in that window, brings it back without an MCLT wait and "
        "waits for normal and the pool rebalance before the next. Pre- and post-flight check "
        "included.")
    _answers(upgrade)
    _session(upgrade)
    upgrade.add_argument("--command", dest="upgrade_command", metavar="CMD",
                         help="the upgrade, run on each peer (as root, detached) while it is "
                         "out of service, e.g. \"apt-get install -y isc-dhcp-server\"; without "
                         "it the wizard pauses at each peer until you press Enter")
    upgrade.add_argument("--command-timeout", type=_bounded(10, 7200, "a time limit"),
                         default=1800.0, metavar="S",
                         help="how long CMD may run on one peer (default 1800)")
    upgrade.add_argument("--order", metavar="ROLE,ROLE", default=None,
                         help="which peer first (default: secondary,primary)")
    upgrade.add_argument("--resume", choices=("primary", "secondary"), default=None,
                         help="bring back the peer an earlier upgrade left in shutdown, then "
                         "go on with the peers after it")
    upgrade.add_argument("--yes", action="store_true", help="start without asking")
    upgrade.add_argument("--accept", type=_accepted, action="extend", default=[],
                         metavar="ID[,ID]", help="go on past these checks' warnings (recorded)")


def _protect_parser(sub) -> None:
    # -- protect tunnel (issue 15, item 4) ---------------------------------------------
    # `protect` groups the steps that protect the failover channel; `tunnel` is one of them.
    # Its work lives in wizard/commands/protect_tunnel.py (the `module` default below).
    protect = sub.add_parser("protect", help="protect the failover channel of a pair")
    protect_sub = protect.add_subparsers(dest="protect_command", metavar="ACTION",
                                         required=True)
    tunnel = protect_sub.add_parser(
        "tunnel", help="move failover into a WireGuard tunnel between the peers (one "
        "transaction with rollback), then prove it runs only through the tunnel")
    _answers(tunnel)
    tunnel.add_argument("--yes", action="store_true", help="apply without asking")
    tunnel.add_argument("--remove", action="store_true",
                        help="take it back: failover onto the underlay, the tunnel down")
    tunnel.add_argument("--normal-timeout", type=_seconds, metavar="S",
                        help="roll back when the pair is not normal S seconds after the "
                        "restarts (default: from mclt and max-response-delay)")
    tunnel.add_argument("--settle", type=_settle, metavar="S",
                        help="seconds both peers must stay normal before the commit "
                        "(default 10; 0 to skip)")
    tunnel.add_argument("--handshake-timeout", type=_handshake, metavar="S",
                        help="roll back when the tunnel has no WireGuard handshake S seconds "
                        "after it is up on both (default 15)")
    _session(tunnel)
    tunnel.set_defaults(module="protect_tunnel")
    # -- end of protect tunnel ----------------------------------------------------------
    _protect_firewall_parser(protect_sub)


def _report_parser(sub) -> None:
    report = sub.add_parser("report", help="(re)build the evidence report of a recorded session")
    report.add_argument("session_dir", metavar="SESSION_DIR")


def _verify_parser(sub) -> None:
    verify = sub.add_parser("verify", help="check that a recorded session is complete and untampered")
    verify.add_argument("session_dir", metavar="SESSION_DIR")


_COMMANDS = {  # in the order `--help` lists them
    "lab": _lab_parser,
    "check": _check_parser,
    "plan": _plan_parser,
    "lint": _lint_parser,
    "deploy": _deploy_parser,
    "drill": _drill_parser,
    "upgrade": _upgrade_parser,
    "protect": _protect_parser,
    "report": _report_parser,
    "verify": _verify_parser,
}


def _named_command(argv: list[str]) -> str | None:
    """The subcommand argv names, when that is certain: only the global options (written in
    full) before it. Anything else (help, an abbreviation, a typo) gets the whole parser."""
    at = 0
    while at < len(argv):
        word = argv[at]
        if word in ("--answers", "--session"):
            at += 2
        elif word.startswith(("--answers=", "--session=")):
            at += 1
        elif word in _COMMANDS:
            return word
        else:
            return None
    return None


def _protect_firewall_parser(protect_sub) -> None:
    """`protect firewall` (issue 15, item 3); its work is wizard/commands/protect.py."""
    fw = protect_sub.add_parser("firewall", help="host firewall rules: failover only from the "
                                "peer, OMAPI only from admin addresses; watchdog-guarded")
    _answers(fw)
    _session(fw)
    fw.add_argument("--yes", action="store_true", help="apply without asking")
    fw.add_argument("--confirm-timeout", type=_bounded(5, 600, "a timeout"), default=60.0,
                    metavar="S", help="the watchdogs restore the old rules unless confirmed "
                    "within S seconds (default 60)")
    fw.add_argument("--remove", action="store_true", help="take dhcp-wizard's rules out of "
                    "both peers (runtime and persisted); nothing of ours there is exit 0")
    # Test-only: a plan that also drops SSH from this wizard (on the primary, the role given,
    # or both), to prove the watchdog.
    fw.add_argument("--test-cut-ssh", nargs="?", const="primary", default=None,
                    choices=("primary", "secondary", "both"), help=argparse.SUPPRESS)
    fw.set_defaults(module="protect")


def _lab_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default=None, metavar="NAME",
                   help="lab instance name (default dhw); lets a test lab run beside yours")


def _answers(p: argparse.ArgumentParser) -> None:
    p.add_argument("--answers", required=True, metavar="FILE", help="answers file (TOML)")


def _session(p: argparse.ArgumentParser) -> None:
    p.add_argument("--session", metavar="DIR", help="session directory (default: user data dir)")


def _roles(text: str) -> tuple[str, ...]:
    from wizard.roles import ROLES

    roles = tuple(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    if not roles or any(r not in ROLES for r in roles):
        raise argparse.ArgumentTypeError(f"{text!r}: give primary, secondary, or both "
                                         "(primary,secondary)")
    return roles


def _accepted(text: str) -> list[str]:
    """Check ids whose warnings deploy may go past; only ids whose warnings ask for it."""
    from wizard.checks.registry import acceptable as acceptable_ids

    acceptable = acceptable_ids()
    ids = [w.strip() for w in text.split(",") if w.strip()]
    wrong = [i for i in ids if i not in acceptable]
    if wrong or not ids:
        raise argparse.ArgumentTypeError(
            f"{', '.join(wrong) or repr(text)}: not a check whose warning can be accepted; "
            f"use one or more of {', '.join(acceptable)}")
    return ids


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 5 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 5 to 3600")
    return value


def _bounded(low: float, high: float, what: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} from {low:g} to {high:g} "
                                             "seconds")
        return value
    return parse


_probe_interval = _bounded(0.5, 60, "an interval")
_probe_duration = _bounded(1, 300, "a duration")
_settle = _bounded(0, 600, "a number of seconds")
_handshake = _bounded(2, 300, "a number of seconds")


_OFFLINE = frozenset(("plan", "lint", "report"))


def program() -> None:
    """The dhcp-wizard command. One that only read files (plan --from, lint, report, verify)
    and runs no other thread by its end leaves without finalizing the interpreter, which
    frees every module and object one by one: 15 ms, a sixteenth of a campus plan timed
    against one `dhcpd -t`. Its output is flushed first; its files are closed by then."""
    code = main()
    threads = sys.modules.get("threading")
    # Nor where something asked to be run at exit (none does on these commands today; one
    # that comes to would be skipped without a word).
    if _named_command(sys.argv[1:]) not in _OFFLINE or (
            threads is not None and threads.active_count() > 1) or atexit._ncallbacks():
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left (`| head`): as main says it, quietly
        code = code or 1
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(_named_command(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    # A subcommand whose work has a module of its own names it (`protect tunnel`).
    module = getattr(args, "module", None) or ("tui" if args.command is None else args.command)
    # This program is where the lab plugs into the core (which never imports it): the
    # drill's "lab:NAME" probe, the client segment as a vantage point. The commands that
    # only read files never probe anything, and are timed against one `dhcpd -t`: the
    # registration's imports (the firewall verifier's) are a twentieth of a plan.
    if module not in _OFFLINE:
        from wizard.lab.probe import register

        register()
    try:
        handler = importlib.import_module(f"wizard.commands.{module}")
        return int(handler.run(args) or 0)
    except WizardError as exc:
        print(f"dhcp-wizard: {exc.render()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dhcp-wizard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # noqa: BLE001 - the user gets a message, the traceback a file
        import tempfile  # only for a crash: traceback alone costs more to import than argparse
        import traceback

        from wizard.record.redaction import scrub

        fd, crash = tempfile.mkstemp(prefix="dhcp-wizard-crash-", suffix=".txt")
        with os.fdopen(fd, "w", errors="backslashreplace") as fh:
            fh.write(scrub(traceback.format_exc()))
        # The exception's text is not shown: it may quote config text (a secret among it).
        print(f"dhcp-wizard: internal error ({type(exc).__name__}): this is a bug in "
              f"dhcp-wizard, not a problem with your input or servers\n"
              f"  the details are in {crash}; please report them", file=sys.stderr)
        return INTERNAL_ERROR_EXIT
