"""How `dhcp-wizard plan --from` scales against `dhcpd -t` on campus-sized configs.

    python benchmarks/bench_conf.py [--lines 60000 600000] [--shapes subnets campus]
                                    [--repeat 5] [--secondary same|copy]

Two shapes: "subnets" (one /24 after another, each with a pool and three hosts) and
"campus" (classes, then many shared-networks of three subnets whose pools admit a class,
hosts with comments, comments everywhere). Each command runs as a whole process
(interpreter start-up and imports included) on the same generated file, --repeat times
after one warm-up; the figures are the median wall time and the largest peak RSS.
The file is planned as both peers' config, or with --secondary copy against a copy of
itself at another path (two files, as two servers' configs are).
The plan's own peak RSS with the check is measured in one more, untimed run inside the
process (a child's peak as the kernel reports it is the largest of its tree: dhcpd's).

"plan" is the plan itself: `plan` checks its own output before it claims it (lint of
both planned configs, and `dhcpd -t` of each planned tree where dhcpd is installed), and
that check runs dhcpd twice more, so it can never be as fast as one dhcpd -t. The "plan"
column skips it (DHCP_WIZARD_BENCH_SKIP_SELF_CHECK=1, which the output then says); the
"checked" column is what a user waits for, check included. `plan` is the `dhcp-wizard`
command of a copy installed the way a user installs it (a scratch venv, `pip install .`:
byte-compiled, no editable-install hook).
Nothing is asserted: timing belongs in a report, not in a test.
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


CLASSES = 12


def campus_shared(lines: int) -> str:
    """A config of about `lines` lines shaped like a university campus: classes, then many
    shared-networks (a building's VLANs), each with a few subnets whose pools admit some
    classes, plenty of hosts, and comments everywhere."""
    out = ["# campus.example DHCP -- generated, do not edit by hand", "#", "authoritative;",
           "ddns-update-style none;", "default-lease-time 3600;", "max-lease-time 86400;",
           'option domain-name "campus.example";', "log-facility local7;", ""]
    for c in range(CLASSES):
        out += [f"# devices of kind {c}", f'class "kind{c}" {{',
                f'  match if substring (option vendor-class-identifier, 0, 5) = "kind{c}";',
                "}", ""]
    i = 0
    while len(out) < lines:
        out += [f"# building {i}: {'library' if i % 3 else 'labs'}",
                f'shared-network "bldg{i}" {{']
        for v in range(3):
            n = i * 3 + v
            a, b = divmod(n, 256)
            net = f"10.{a % 256}.{b}"
            out += [f"  # vlan {v}",
                    f"  subnet {net}.0 netmask 255.255.255.0 {{",
                    f"    option routers {net}.1;",
                    f"    option domain-name-servers 10.255.0.1, 10.255.0.2;",
                    "    pool {",
                    f'      allow members of "kind{n % CLASSES}";',
                    f"      range {net}.10 {net}.150;",
                    "    }"]
            for h in range(2):
                out += [f"    host b{i}v{v}h{h} {{  # room {100 + h}",
                        f"      hardware ethernet 02:{a % 256:02x}:{b:02x}:{v:02x}:00:{h:02x};",
                        f"      fixed-address {net}.{200 + h};",
                        "    }"]
            out.append("  }")
        out += ["}", ""]
        i += 1
    return "\n".join(out) + "\n"


SHAPES = {"subnets": campus, "campus": campus_shared}


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if code != 0:
        sys.exit(f"{' '.join(cmd[:4])} ... failed ({code}):\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def median_of(cmd: list[str], repeat: int, env=None, fresh: tuple[Path, ...] = ()
              ) -> tuple[float, float]:
    """fresh: folders removed before each run (untimed), so that every run starts as the
    first did: a session folder given again is appended to, and its report grows."""
    runs = []
    for i in range(repeat + 1):  # the first is a warm-up: caches as after any first run
        for folder in fresh:
            shutil.rmtree(folder, ignore_errors=True)
        result = measure(cmd, env)
        if i:
            runs.append(result)
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


# The installed command's process, its peak RSS (MB) written to stderr at the end.
_OWN_PEAK = ("import resource, sys\n"
             "from wizard.cli import main\n"
             "sys.argv[0] = 'dhcp-wizard'\n"
             "code = main()\n"
             "sys.stdout.flush()\n"
             "print(f'peak-rss-mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}',"
             " file=sys.stderr)\n"
             "raise SystemExit(code)\n")


def own_peak(installed: list[str], args: list[str], env: dict, fresh: tuple[Path, ...]) -> float:
    """The plan process's own peak RSS in MB, its dhcpd children left out."""
    for folder in fresh:
        shutil.rmtree(folder, ignore_errors=True)
    python = Path(installed[0]).with_name("python")
    cmd = ([str(python), "-c", _OWN_PEAK] if python.exists() and installed[0].endswith(
        "dhcp-wizard") else [sys.executable, "-c", _OWN_PEAK]) + args
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    found = [line for line in proc.stderr.splitlines() if line.startswith("peak-rss-mb ")]
    if proc.returncode != 0 or not found:
        sys.exit(f"plan failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return float(found[-1].split()[1])


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
    ap.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=["subnets", "campus"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--secondary", choices=["same", "copy"], default="same",
                    help="the secondary's config: the very file given for both peers "
                    "(default), or a copy of it at another path")
    ap.add_argument("--no-checked", action="store_true",
                    help="skip the runs with the self-check (they take about 3x as long)")
    args = ap.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("DHCP_WIZARD_BENCH_SKIP_SELF_CHECK", None)
    bare = dict(env, DHCP_WIZARD_BENCH_SKIP_SELF_CHECK="1")
    print(f"median of {args.repeat} whole-process runs; 'plan' skips the self-check "
          "(lint + dhcpd -t of its output), 'checked' includes it; ratios are to dhcpd -t "
          "of the same file; MB: peak RSS of the plan process itself; secondary: "
          + ("the same file" if args.secondary == "same" else "a copy of the file"))
    print(f"{'shape':>8} {'lines':>8} {'dhcpd -t':>9} {'plan':>8} {'ratio':>6} "
          f"{'checked':>8} {'ratio':>6} {'plan MB':>8} {'chk MB':>7} {'dhcpd MB':>8}")
    summary = []
    with tempfile.TemporaryDirectory(prefix="bench-conf-") as tmp:
        tmp = Path(tmp)
        (tmp / "answers.toml").write_text(ANSWERS)
        installed = installed_copy(tmp)
        for shape in args.shapes:
            for lines in args.lines:
                conf = tmp / f"{shape}-{lines}.conf"
                text = SHAPES[shape](lines)
                conf.write_text(text)
                second = conf
                if args.secondary == "copy":
                    second = tmp / f"{shape}-{lines}-secondary.conf"
                    second.write_text(text)
                dhcpd_s, dhcpd_mb = median_of([DHCPD, "-4", "-t", "-cf", str(conf)],
                                              args.repeat)
                plan_args = ["plan", "--answers", str(tmp / "answers.toml"), "--from",
                             str(conf), str(second), "--session", str(tmp / "session"),
                             "--out", str(tmp / "out")]
                fresh = (tmp / "session", tmp / "out")
                plan_s, plan_mb = median_of(installed + plan_args, args.repeat, bare, fresh)
                checked = checked_ratio = checked_mb = "-"
                if not args.no_checked:
                    checked_s, _ = median_of(installed + plan_args, args.repeat, env, fresh)
                    checked = f"{checked_s:.2f}s"
                    checked_ratio = f"{checked_s / dhcpd_s:.2f}x"
                    checked_mb = f"{own_peak(installed, plan_args, env, fresh):.0f}"
                row = (f"{shape:>8} {text.count(chr(10)):>8} {dhcpd_s:>8.2f}s {plan_s:>7.2f}s "
                       f"{plan_s / dhcpd_s:>5.2f}x {checked:>8} {checked_ratio:>6} "
                       f"{plan_mb:>8.0f} {checked_mb:>7} {dhcpd_mb:>8.0f}")
                print(row, flush=True)
                summary.append(f"{shape} {lines // 1000}k lines: plan {plan_s / dhcpd_s:.2f}x "
                               f"dhcpd -t, checked {checked_ratio}; peak RSS {plan_mb:.0f} MB, "
                               f"checked {checked_mb} MB")
    print("\n".join(["", "summary (goal: plan <= 1.0x dhcpd -t; 600k lines under 300 MB):",
                     *summary]))


if __name__ == "__main__":
    main()
