"""How fast the wizard starts, and whether network work ever stalls the UI.

    python benchmarks/bench_tui.py [--answers FILE] [--runs N]

1. Launch to first screen drawn: a fresh Python process (interpreter start included) runs the
   app headless and reports when the welcome screen has been painted. Target <= 0.5 s.
2. Longest UI stall while the servers step connects, checks and inspects both servers of a
   real pair (the lab's answers file): a 10 ms timer on the UI thread records the largest
   gap between its ticks while the worker runs. Target < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import sys, time
t0 = float(sys.argv[1])
from screens.app import WizardApp

class Bench(WizardApp):
    def on_mount(self):
        super().on_mount()
        self.set_interval(0.002, self._probe)

    def _probe(self):
        if type(self.screen).__name__ == "WelcomeScreen" and self.screen.is_mounted:
            self.call_after_refresh(self._drawn)

    def _drawn(self):
        print(f"FIRST_SCREEN {time.time() - t0:.4f}", flush=True)
        self.exit(0)

Bench().run(headless=True)
"""


def startup(runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.time()
        proc = subprocess.run([sys.executable, "-c", CHILD, repr(t0)], capture_output=True,
                              text=True, cwd=REPO, timeout=30)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("FIRST_SCREEN")), None)
        if line is None:
            raise SystemExit(f"the app did not start: {proc.stderr[-2000:]}")
        out.append(float(line.split()[1]))
    return out


def stall(answers_path: str) -> tuple[float, float]:
    """(largest UI gap in s, how long the network work took) on the servers step."""
    from screens.app import WizardApp
    from wizard.answers import load_answers

    app = WizardApp(load_answers(answers_path),
                    session_dir=f"/tmp/dhcp-wizard-bench-{time.time():.0f}")
    gaps: list[float] = []

    async def go() -> float:
        async with app.run_test(size=(120, 40)) as pilot:
            last = [time.perf_counter()]

            def tick() -> None:
                now = time.perf_counter()
                gaps.append(now - last[0])
                last[0] = now
            await pilot.pause(1.0)                  # the user reads the welcome screen
            last[0] = time.perf_counter()
            app.set_interval(0.01, tick)
            started = time.perf_counter()
            await pilot.press("ctrl+n")
            while not getattr(app.screen.state, "checked", False) \
                    and time.perf_counter() - started < 60:
                await pilot.pause(0.01)
            took = time.perf_counter() - started
            app.screen.action_inspect()            # a second round, with warm connections
            while app.screen.running and time.perf_counter() - started < 60:
                await pilot.pause(0.01)
            return took
    took = asyncio.run(go())
    # The timer's own period is 10 ms; the stall is what comes on top of it.
    return max(gaps) - 0.01 if gaps else 0.0, took


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--answers", default="/var/lib/dhcp-wizard/lab/dhw/answers.toml",
                   help="answers of a reachable pair, e.g. a lab's")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    sys.path.insert(0, str(REPO))

    times = startup(args.runs)
    med = statistics.median(times)
    print(f"launch to first screen: median {med * 1000:.0f} ms over {args.runs} runs "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); target 500 ms: "
          f"{'OK' if med <= 0.5 else 'TOO SLOW'}")
    if Path(args.answers).exists():
        gap, took = stall(args.answers)
        print(f"longest UI stall while connecting, checking and inspecting both servers "
              f"({took:.2f} s of network work): {gap * 1000:.0f} ms; target 100 ms: "
              f"{'OK' if gap < 0.1 else 'STALLS'}")
    else:
        print(f"UI stall: skipped, {args.answers} does not exist (start a lab or pass --answers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
