"""How fast the wizard sees a new pair reach normal, against the servers' own logs.

For each run: rebuild the lab's plain baseline, deploy failover (no drill) through the same
stages as `dhcp-wizard deploy`, and compare
  - wizard: from the moment the restarts were issued to the moment it saw both normal,
  - servers: from the same moment to the later of the two `Both servers normal` log lines
    (the syslog files are watched every 5 ms as dhcpd writes them).
Overhead = wizard / servers - 1; the goal is under 10 %.

Run as root: python benchmarks/bench_deploy.py [--runs 3] [--lab dhw] [--subnet CIDR]
It takes over the named lab (default: dhw) and leaves it deployed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wizard.answers import load_answers  # noqa: E402
from wizard.flow.deployment import Deployment  # noqa: E402
from wizard.lab import lifecycle  # noqa: E402
from wizard.lab.spec import LabSpec  # noqa: E402


class LogWatch(threading.Thread):
    def __init__(self, path: Path, needle: str):
        super().__init__(daemon=True)
        self.path, self.needle = path, needle
        self.offset = path.stat().st_size if path.exists() else 0
        self.seen: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        buf = ""
        while not self.stop.is_set() and self.seen is None:
            with open(self.path, "r", errors="replace") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
                self.offset = fh.tell()
            buf += chunk
            if self.needle in buf:
                self.seen = time.time()
            time.sleep(0.005)


def one_run(spec: LabSpec) -> dict:
    lifecycle.down(spec, progress=lambda _m: None)
    lifecycle.up(spec, progress=lambda _m: None)
    answers = load_answers(spec.answers_path)
    marks: dict[str, float] = {}

    def progress(role, step, _msg):
        if step == "restarting":
            marks.setdefault("restart", time.time())

    watches = [LogWatch(spec.host_dir(r) / "var-log" / "syslog", "Both servers normal")
               for r in ("primary", "secondary")]
    with Deployment(answers, progress=progress) as d:
        d.inspect()
        plan = d.plan()
        for w in watches:
            w.start()
        result = d.apply(plan)
    for w in watches:
        w.join(10)
        w.stop.set()
    if not result.ok or any(w.seen is None for w in watches):
        raise SystemExit(f"deploy did not reach normal: {result.reason}")
    wizard_seen = max(t.t for t in result.timeline if t.after == "normal")
    logs_said = max(w.seen for w in watches)
    return {"wizard": wizard_seen - marks["restart"], "servers": logs_said - marks["restart"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lab", default="dhw")
    ap.add_argument("--subnet", default="198.51.100.0/24")
    args = ap.parse_args()
    spec = LabSpec(args.lab, args.subnet)
    rows = []
    for i in range(args.runs):
        r = one_run(spec)
        rows.append(r)
        print(f"run {i + 1}: restart -> both normal: wizard saw it at {r['wizard']:.3f} s, "
              f"servers logged it at {r['servers']:.3f} s "
              f"(overhead {100 * (r['wizard'] / r['servers'] - 1):+.1f} %)")
    w = statistics.median(r["wizard"] for r in rows)
    s = statistics.median(r["servers"] for r in rows)
    print(f"median: wizard {w:.3f} s, servers {s:.3f} s, overhead {100 * (w / s - 1):+.1f} % "
          "(goal: under 10 %)")


if __name__ == "__main__":
    main()
