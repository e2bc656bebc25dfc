"""`dhcp-wizard` without a command: the interactive wizard (Textual, imported only here)."""

from __future__ import annotations

from wizard.answers import load_answers


def run(args) -> int:
    # Read the answers before the terminal switches to the app, so a bad file is reported
    # as a plain message with exit 2.
    answers = load_answers(args.answers) if args.answers else None
    from screens.app import WizardApp

    app = WizardApp(answers, session_dir=args.session)
    code = app.run()
    path = app.engine.session_path
    if path:
        print(f"session recorded in {path}")
    return int(code or 0)
