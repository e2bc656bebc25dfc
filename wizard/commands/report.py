"""`dhcp-wizard report SESSION_DIR`: (re)build report.md and report.html of a session."""

from __future__ import annotations


def run(args) -> int:
    from wizard.record.evidence import report

    md, html = report(args.session_dir)
    print(md)
    print(html)
    return 0
