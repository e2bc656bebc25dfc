"""How long `dhcp-wizard check` takes on a lab pair, whole process (goal: <= 1.5 s), and,
when Ansible is installed, how long `ansible -m setup` takes on the same two hosts (goal:
check <= 1/3 of it).

    python benchmarks/bench_check.py [ANSWERS] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ANSWERS = "/var/lib/dhcp-wizard/lab/dhw/answers.toml"


def timed(argv: list[str], env=None) -> tuple[float, int]:
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, cwd=REPO, env=env)
    return time.monotonic() - start, proc.returncode


def ansible_setup(answers_path: str, runs: int) -> float | None:
    if shutil.which("ansible") is None:
        return None
    sys.path.insert(0, str(REPO))
    from wizard.answers import load_answers

    a = load_answers(answers_path)
    with tempfile.TemporaryDirectory() as tmp:
        inv = Path(tmp) / "inventory"
        inv.write_text("".join(
            f"{h.host} ansible_user={h.user or 'root'} ansible_port={h.port or 22}"
            f" ansible_ssh_private_key_file={h.identity or ''}"
            f" ansible_ssh_common_args='-o UserKnownHostsFile={h.known_hosts or ''}'\n"
            for h in (a.primary, a.secondary)))
        env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "1"}
        times = [timed(["ansible", "all", "-i", str(inv), "-m", "setup"], env)[0]
                 for _ in range(runs)]
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("answers", nargs="?", default=DEFAULT_ANSWERS)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [timed([sys.executable, "-m", "wizard", "check", "--answers", args.answers,
                          "--session", f"{tmp}/s{i}"]) for i in range(args.runs)]
    times = [t for t, _ in results]
    codes = {rc for _, rc in results}
    median = statistics.median(times)
    print(f"check (whole process): median {median:.3f} s over {args.runs} runs "
          f"(min {min(times):.3f}, max {max(times):.3f}; exit codes {sorted(codes)}); "
          f"goal <= 1.5 s: {'met' if median <= 1.5 else 'MISSED'}")
    anchor = ansible_setup(args.answers, max(1, min(args.runs, 3)))
    if anchor is None:
        print("ansible -m setup: not measured (ansible is not installed)")
    else:
        print(f"ansible -m setup on the same two hosts: median {anchor:.3f} s; check is "
              f"{median / anchor:.2f} of it (goal <= 0.33: "
              f"{'met' if median <= anchor / 3 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
