"""Service continuity while the wizard works on a live pair: a client on the lab's served
segment asks for an address every second (wizard/lab/continuity.py: a DISCOVER from a client
without a lease, answered when an OFFER comes within 3 s) during

  - deploy   the first deployment of failover (both peers restart together, by design),
  - drill    `drill --roles primary,secondary` (each peer out of service in turn),
  - upgrade  `upgrade --command lab-upgrade-dhcpd` (each peer upgraded in its window),
  - upgrade+restart  the same with a command that restarts dhcpd, as packages do,

each run as the user runs it (a separate `dhcp-wizard` process), on a lab with the guide's
production timers (mclt 3600, max-response-delay 60). It prints, per operation, the requests,
the unanswered ones and the longest gap, next to how long the operation took. Goals: 0
unanswered during drill and upgrade; during deploy no gap longer than the restart itself.
Nothing is asserted: figures belong in a report.

Run as root: python benchmarks/bench_continuity.py [--lab dhc] [--subnet CIDR] [--runs 1]
It builds the named lab afresh (default dhc on 198.51.100.0/24) and takes it down at the end.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wizard.lab import lifecycle  # noqa: E402
from wizard.lab.continuity import Continuity  # noqa: E402
from wizard.lab.spec import LabSpec  # noqa: E402

PRODUCTION = {"mclt": 3600, "max_response_delay": 60}


def production_answers(spec: LabSpec) -> Path:
    text = spec.answers_path.read_text()
    for key, value in PRODUCTION.items():
        text = re.sub(rf"^{key} = \d+$", f"{key} = {value}", text, flags=re.M)
    path = spec.state_dir / "answers-production.toml"
    path.write_text(text)
    return path


def wizard(*argv: str, timeout: float = 900) -> tuple[int, float, str]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "wizard", *argv], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)
    return proc.returncode, time.monotonic() - started, proc.stdout + proc.stderr


def restart_seconds(output: str) -> str:
    m = re.search(r"both peers normal ([\d.]+) s after the restarts began", output)
    return f"{float(m.group(1)):.1f}" if m else "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lab", default="dhc")
    ap.add_argument("--subnet", default="198.51.100.0/24")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    spec = LabSpec(name=args.lab, subnet=args.subnet)
    rows = []
    for run in range(1, args.runs + 1):
        lifecycle.down(spec, progress=lambda _m: None)
        lifecycle.up(spec, progress=lambda _m: None)
        answers = str(production_answers(spec))
        ops = [
            ("deploy", ["deploy", "--answers", answers, "--yes", "--accept", "ntp",
                        "--no-drill"]),
            ("drill", ["drill", "--answers", answers, "--roles", "primary,secondary"]),
            ("upgrade", ["upgrade", "--answers", answers, "--command", "lab-upgrade-dhcpd",
                         "--yes", "--accept", "ntp"]),
            # What real packages do: restart dhcpd in the window (returns by conflict
            # resolution, docs/dhcpd-behaviour.md).
            ("upgrade+restart", ["upgrade", "--answers", answers, "--command",
                                 "lab-upgrade-dhcpd && service isc-dhcp-server restart",
                                 "--yes", "--accept", "ntp"]),
        ]
        for name, argv in ops:
            with Continuity(spec, every=1.0) as probe:
                probe.wait(3)      # a few answered requests before the operation starts
                code, took, out = wizard(*argv)
                probe.wait(3)
            report = probe.report()
            extra = f"restart {restart_seconds(out)} s" if name == "deploy" else ""
            rows.append((run, name, code, took, report, extra))
            print(f"run {run} {name:<15} exit {code}  {took:6.1f} s  {report.line()}"
                  + (f"  ({extra})" if extra else ""), flush=True)
            if code != 0:
                print(out[-3000:])
    lifecycle.down(spec, progress=lambda _m: None)
    print("\noperation        exit  seconds  requests  unanswered  longest gap  served by")
    for run, name, code, took, report, extra in rows:
        served = ", ".join(f"{k} {v}" for k, v in report.served_by.items())
        print(f"{name:<15}  {code:>4}  {took:7.1f}  {len(report.requests):>8}  "
              f"{report.unanswered:>10}  {report.longest_gap:>9.1f} s  {served}"
              + (f"  [{extra}]" if extra else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
