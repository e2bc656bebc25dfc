"""`dhcp-wizard verify SESSION_DIR`: is the recorded session complete and untampered?"""

from __future__ import annotations


def run(args) -> int:
    from wizard.record.evidence import verify

    events, problems = verify(args.session_dir)
    artifacts = sum(e.get("kind") == "artifact" for e in events)
    if problems:
        print(f"NOT VERIFIED: {args.session_dir}")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"VERIFIED: {len(events)} events in an unbroken hash chain, {artifacts} artifacts "
          "matching their sha256, start and end present, no unmasked secret")
    return 0
