"""`dhcp-wizard plan`: both new configs as unified diffs; changes nothing on the servers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from wizard.answers import load_answers
from wizard.conf.loader import encode
from wizard.conf.plan import FilePlan, PairPlan, plan_pair
from wizard.errors import InputError
from wizard.session import Session


def run(args) -> int:
    answers = load_answers(args.answers)
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
        for file in result.files:
            out.write(session.redactor.text(file.diff()))
        if args.out:
            written = _write_out(Path(args.out), result)
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


def _write_out(out: Path, result: PairPlan) -> list[Path]:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create --out directory {out}: {exc.strerror}") from None
    written = []
    for file in result.files:
        if file is result.main(file.role):
            target = out / f"{file.role}.conf"
        elif file.changed:
            target = out / f"{file.role}-includes" / file.path.lstrip("/")
        else:
            continue
        written.append(_write_private(target, file))
    return written


def _write_private(target: Path, file: FilePlan) -> Path:
    # The deployable files hold the real OMAPI secret: never readable by others, not even
    # for the moment between create and chmod.
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(encode(file.after))
    os.chmod(target, 0o600)
    return target
