"""How `dhcp-wizard plan --from` scales against `dhcpd -t` on campus-sized configs.

    python benchmarks/bench_conf.py [--lines 60000 600000] [--repeat 3]

Both run as whole processes (interpreter start-up and imports included), on the same
generated file; the figures are the best wall time of --repeat runs and the child's peak RSS.
`plan` is the `dhcp-wizard` command of a copy installed the way a user installs it (a scratch
venv, `pip install .`: byte-compiled, no editable-install hook), and again from this checkout
without a bytecode cache (the "no-pyc" columns), as in a sandbox that sets
PYTHONDONTWRITEBYTECODE.
Nothing is asserted: timing belongs in a report, not in a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DHCPD = "/usr/sbin/dhcpd"
LINES_PER_SUBNET = 21  # what campus() writes per subnet, for sizing

ANSWERS = """\
[primary]
host = "198.51.100.11"
[secondary]
host = "198.51.100.12"
[failover]
name = "campus"
"""


def campus(lines: int) -> str:
    """A config of about `lines` lines: globals, then /24 subnets with a pool and hosts."""
    out = ["# generated campus config", "authoritative;", "default-lease-time 600;",
           "max-lease-time 7200;", 'option domain-name "campus.example";', ""]
    for i in range(max(1, lines // LINES_PER_SUBNET)):
        a, b = divmod(i, 256)
        net = f"10.{a}.{b}"
        out += [f"# building {i}",
                f"subnet {net}.0 netmask 255.255.255.0 {{",
                f"  option routers {net}.1;",
                f'  option domain-name "b{i}.campus.example";',
                "  pool {",
                f"    range {net}.10 {net}.200;",
                "  }"]
        for h in range(3):
            out += [f"  host h{i}-{h} {{",
                    f"    hardware ethernet 02:00:{a % 256:02x}:{b:02x}:00:{h:02x};",
                    f"    fixed-address {net}.{220 + h};  # printer {h}",
                    "  }" if h < 2 else "  }"]
        out += ["}", ""]
    return "\n".join(out) + "\n"


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit status) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}):\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024, proc.returncode


def best(cmd: list[str], repeat: int, env=None) -> tuple[float, float]:
    runs = [measure(cmd, env) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def installed_copy(tmp: Path) -> list[str]:
    """The dhcp-wizard command of a scratch install of this checkout (plan needs no
    third-party package, hence --no-deps); falls back to the checkout when pip cannot."""
    venv = tmp / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                        "install", "--quiet", "--no-deps", str(REPO)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return [str(venv / "bin" / "dhcp-wizard")]
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"(could not install a scratch copy: {exc}; timing the checkout instead)")
        return [sys.executable, "-m", "wizard"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, nargs="+", default=[60_000, 600_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cold_env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
    print(f"{'lines':>8} {'subnets':>8} {'dhcpd -t':>9} {'plan':>8} {'ratio':>6} "
          f"{'plan MB':>8} {'dhcpd MB':>8} {'no-pyc plan':>12} {'ratio':>6}")
    with tempfile.TemporaryDirectory(prefix="bench-conf-") as tmp:
        tmp = Path(tmp)
        (tmp / "answers.toml").write_text(ANSWERS)
        installed = installed_copy(tmp)
        for lines in args.lines:
            conf = tmp / f"campus-{lines}.conf"
            text = campus(lines)
            conf.write_text(text)
            dhcpd_s, dhcpd_mb = best([DHCPD, "-4", "-t", "-cf", str(conf)], args.repeat)
            plan_args = ["plan", "--answers", str(tmp / "answers.toml"), "--from", str(conf),
                         str(conf), "--session", str(tmp / f"session-{lines}"),
                         "--out", str(tmp / "out")]
            measure(installed + plan_args, env)  # a first run, as after any install
            plan_s, plan_mb = best(installed + plan_args, args.repeat, env)
            cold_s, _ = best([sys.executable, "-m", "wizard", *plan_args], args.repeat, cold_env)
            print(f"{text.count(chr(10)):>8} {lines // LINES_PER_SUBNET:>8} {dhcpd_s:>8.2f}s "
                  f"{plan_s:>7.2f}s {plan_s / dhcpd_s:>5.2f}x {plan_mb:>8.0f} {dhcpd_mb:>8.0f} "
                  f"{cold_s:>11.2f}s {cold_s / dhcpd_s:>5.2f}x", flush=True)


if __name__ == "__main__":
    main()
