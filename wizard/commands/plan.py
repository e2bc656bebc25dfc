"""`dhcp-wizard plan`: both new configs as unified diffs; changes nothing on the servers.

`--out DIR` writes, for review and deployment, `<role>.conf` (the deployable file, real
secret, mode 0600), `<role>.diff` (masked as printed; empty when nothing changes) and the
changed include files under `<role>-includes/`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from wizard.answers import load_answers
from wizard.pair_rules import check_ssh_targets
from wizard.conf.loader import encode
from wizard.conf.plan import PairPlan, plan_pair
from wizard.errors import InputError
from wizard.session import Session

ROLES = ("primary", "secondary")


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
        check_ssh_targets(answers)
    session = Session.create(args.session, command="plan")
    with session:
        if args.from_files:
            primary, secondary = args.from_files
            session.event("plan", "inputs", primary=primary, secondary=secondary,
                          answers=answers.source)
            result = plan_pair(answers, primary, secondary)
            result.record(session)
        else:
            result = _plan_live(answers, session)
        out = sys.stdout
        out.write(session.redactor.text(_summary(result)))
        diffs = {role: "" for role in ROLES}
        for file in result.files:
            diff = session.redactor.text(file.diff())
            out.write(diff)
            diffs[file.role] += diff
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
    from wizard.deploy import Deployment

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
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".dhcp-wizard-probe-", dir=existing))
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write in {existing}: {exc.strerror}",
                         "choose a directory you can write to") from None


def _write_out(out: Path, result: PairPlan, diffs: dict[str, str]) -> list[Path]:
    """<role>.conf to deploy, <role>.diff as printed (secret masked), changed includes."""
    written = []
    for file in result.files:
        if file is result.main(file.role):
            target = out / f"{file.role}.conf"
        elif file.changed:
            target = out / f"{file.role}-includes" / file.path.lstrip("/")
        else:
            continue
        written.append(_write_private(target, encode(file.after)))
    for role in ROLES:
        written.append(_write_private(out / f"{role}.diff", encode(diffs[role])))
    return written


def _write_private(target: Path, data: bytes) -> Path:
    # The deployable files hold the real OMAPI secret: never readable by others, not even
    # for the moment between create and chmod. The diffs are masked, but say what the
    # servers will run: private too.
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(target, 0o600)
    except OSError as exc:
        raise InputError(f"--out: cannot write {target}: {exc.strerror}",
                         "choose a directory you can write to") from None
    return target
