"""`dhcp-wizard lint`: two local configs checked against each other as a failover pair."""

from __future__ import annotations

import json
import sys

from wizard.conf.lint import lint_pair
from wizard.conf.model import load


def run(args) -> int:
    # The diffs and findings quote the configs, whose non-UTF-8 bytes (read as surrogates)
    # go out as they came in, whatever the locale's own error handler.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")
    findings = lint_pair(load(args.primary_conf), load(args.secondary_conf))
    errors = sum(f.severity == "error" for f in findings)
    if args.json:
        print(json.dumps({"ok": errors == 0, "findings": [f.as_dict() for f in findings]},
                         indent=2))
    else:
        for finding in findings:
            print(finding.render())
        warnings = sum(f.severity == "warn" for f in findings)
        print(f"{errors} error(s), {warnings} warning(s)"
              + ("" if findings else ": the pair is consistent"))
    return 1 if errors else 0
