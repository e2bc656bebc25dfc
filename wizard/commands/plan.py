"""`dhcp-wizard plan`: both new configs as unified diffs; changes nothing on the servers.

`--out DIR` writes, for review and deployment, `<role>.conf` (the new config, real secret,
mode 0600), `<role>.diff` (masked as printed; empty when nothing changes) and, for a config
that includes others, every included file under `<role>-includes/<its path>`: the include
statements of the written files name those copies, so that the tree checks on its own
(`dhcpd -t -cf DIR/primary.conf`, `lint`, a new `plan --from`). The diffs show the files at
their own paths; deployed, each file goes back to its path with its original includes.

Before anything is printed or written the output is checked (conf.self_check): both planned
configs must lint clean and, where dhcpd is installed, pass `dhcpd -t`; else exit 2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from wizard import forked
from wizard.answers import load_answers
from wizard.conf import self_check, tree_out
from wizard.conf.plan import PairPlan, plan_pair
from wizard.errors import InputError
from wizard.record.session import Session
from wizard.roles import ROLES

# Below this many characters of planned text a fork costs more than the diffs it spares.
_FORK_ABOVE = 400_000

# Imported where used (SSH targets, the --out probe): `plan --from` needs neither, and the
# whole process is measured against one `dhcpd -t`.


def run(args) -> int:
    # The diffs and findings quote the configs, whose non-UTF-8 bytes (read as surrogates)
    # go out as they came in, whatever the locale's own error handler.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")
    answers = load_answers(args.answers)
    if args.out:
        # Before any SSH: finding out after reading both servers wastes the user's logins.
        check_out_dir(Path(args.out))
    if not args.from_files:
        from wizard.remote.ssh_config import check_ssh_targets

        check_ssh_targets(answers)
    session = Session.create(args.session, command="plan")
    with session:
        if args.from_files:
            primary, secondary = args.from_files
            session.event("plan", "inputs", primary=primary, secondary=secondary,
                          answers=answers.source)
            # Both from files, no thread running: the peers are planned side by side.
            result = plan_pair(answers, primary, secondary, parallel=True)
        else:
            result = _plan_live(answers, session)
        # The check's two dhcpd -t run while the plan is recorded and its diffs are made;
        # the diffs of large files in a child process, beside the record (wizard.forked).
        # Masked with the plan's secret, told to the redactor before the child starts.
        result.register_secrets(session.redactor)
        # Only from files: after SSH, the connections' threads may still be winding down,
        # and a child forked while one holds a lock could wait on it for ever.
        diffs = forked.start(lambda: [session.redactor.text(f.diff()) for f in result.files],
                             worth_it=bool(args.from_files) and sum(
                                 len(f.after) for f in result.files
                                 if f.made_diff is None) > _FORK_ABOVE)
        try:
            with self_check.started(result) as check:
                if args.from_files:
                    result.record(session)
                shown = list(zip((f.role for f in result.files), diffs.result()))
                checked = check.verdict()  # refuses (exit 2) what dhcpd or lint would
        finally:
            diffs.cancel()
        session.event("plan", "checked", result=checked)
        out = sys.stdout
        out.write(session.redactor.text(_summary(result) + checked + "\n"))
        diffs = {role: "" for role in ROLES}
        for role, diff in shown:
            out.write(diff)
            diffs[role] += diff
        if args.out:
            written = _write_out(Path(args.out), result, diffs)
            session.event("plan", "written", files=[str(p) for p in written])
        session.event("plan", "done", changed=result.changed, notes=result.notes)
    return 0


def _summary(result: PairPlan) -> str:
    lines = [f"# OMAPI secret: {result.secret_origin}"]
    for diff in result.differences:
        lines.append(f"# pools differ: {diff.sentence()}")
    lines += [f"# {note}" for note in result.notes]
    if not result.changed:
        lines.append("# no change: both configs already say what the answers ask for")
    return "\n".join(lines) + "\n"


def _plan_live(answers, session: Session) -> PairPlan:
    """Both live configs (and their includes) read over SSH; nothing is changed."""
    from wizard.flow.deployment import Deployment

    with Deployment(answers, session) as d:
        for role, info in d.inspect().items():
            sys.stderr.write(f"# {role}: {info.config_path} ({info.config_source})\n")
        return d.plan()


def check_out_dir(out: Path) -> None:
    """Refuse an --out that is, or lies under, a non-directory, or where nothing can be
    created. A real create (removed at once) is the test: as root, permission bits say
    nothing about /proc or a read-only mount."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is not a directory",
                         "give a directory for the planned files (it is created when absent)")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"--out {out}: {existing} is not a directory",
                         "give a directory for the planned files (it is created when absent)")
    # A name no other run takes (tempfile would cost a plan an import of random).
    probe = existing / f".dhcp-wizard-probe-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        os.mkdir(probe, 0o700)
        os.rmdir(probe)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write in {existing}: {exc.strerror}",
                         "choose a directory you can write to") from None


def _write_out(out: Path, result: PairPlan, diffs: dict[str, str]) -> list[Path]:
    """Each role's tree (tree_out: <role>.conf and every file it includes, pointed at each
    other) and <role>.diff as printed (secret masked)."""
    written = []
    for role in ROLES:
        places = tree_out.locations(result.files, role, out)
        tree = tree_out.texts(result.files, role, places)
        tree[out / f"{role}.diff"] = diffs[role]
        try:
            written += tree_out.write(tree)
        except OSError as exc:
            raise InputError(f"--out: cannot write in {out}: {exc.strerror}",
                             "choose a directory you can write to") from None
    return written
