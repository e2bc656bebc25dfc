#!/usr/bin/env bash
# Installs what the tests need, then runs them all, the real-lab tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The layering the code promises (.importlinter): the core never imports the UI or the lab,
# the screens never talk to hosts themselves, no import cycles.
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
# In this mode a lab that cannot be built fails the run instead of skipping its tests.
export DHCP_WIZARD_REQUIRE_LAB=1
# One worker per lab (tests/conftest.py): the lab tests mostly wait on daemons and timers,
# so they run side by side. A lab per /25 half of the two documentation ranges that no route
# of this machine uses yet (a developer's own lab, a VPN): four on a fresh machine.
labs=$(/usr/bin/python3 - <<'PY'
import ipaddress, subprocess
used = []
for line in subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                           text=True).stdout.splitlines():
    dst = line.split()[0] if line.split() else ""
    if dst[:1].isdigit():
        try:
            used.append(ipaddress.ip_network(dst, strict=False))
        except ValueError:
            pass
halves = [("dhwt", "203.0.113.0/25"), ("dhwu", "203.0.113.128/25"),
          ("dhwv", "198.51.100.128/25"), ("dhwx", "198.51.100.0/25")]
free = [f"{n}:{c}" for n, c in halves
        if not any(ipaddress.ip_network(c).overlaps(u) for u in used if u.prefixlen >= 8)]
print(",".join(free))
PY
)
if [ -z "$labs" ]; then
    echo "no free /25 in 203.0.113.0/24 or 198.51.100.0/24 for a test lab: take your labs down" >&2
    exit 2
fi
export DHCP_WIZARD_TEST_LABS="$labs"
workers=$(echo "$labs" | tr ',' '\n' | wc -l)
# The tests that need no lab run beside the lab's, in a second pytest at a lower priority:
# the lab tests mostly wait on daemons and timers (the machine was half idle with them
# alone), so the two together take about as long as the lab tests by themselves.
# `-m "not lab"` never brings a lab up (tests/conftest.py). Both get the same arguments;
# a run that selects none of its kind (exit 5) is no failure.
others=$(mktemp) labout=$(mktemp)
trap 'rm -f "$others" "$labout"' EXIT
nice -n 19 .venv/bin/python -m pytest -n 1 -m "not lab" -p no:cacheprovider --durations=10 \
    "$@" > "$others" 2>&1 &
others_pid=$!
# Under set -e a failing command in the trap would become the exit status: none may fail.
trap 'kill "$others_pid" 2>/dev/null || true; rm -f "$others" "$labout"' EXIT
# The slowest tests are named at the end, so that the suite's time can be kept in check.
# Files go out in collection order, heaviest lab files first (tests/conftest.py), not
# xdist's default of most tests first, which deals the long lab files out last.
set +e
.venv/bin/python -m pytest -n "$workers" --dist loadfile --no-loadscope-reorder -m lab \
    --durations=25 "$@" 2>&1 | tee "$labout"
lab_rc=${PIPESTATUS[0]}
wait "$others_pid"
others_rc=$?
set -e
echo
echo "==== the tests that need no lab (run beside the lab tests) ===="
cat "$others"
[ "$lab_rc" = 5 ] && lab_rc=0
[ "$others_rc" = 5 ] && others_rc=0
echo
last() { tail -n 1 "$1" | sed 's/^=* *//; s/ *=*$//'; }
echo "suite: lab tests: $(last "$labout"); other tests: $(last "$others")"
[ "$lab_rc" = 0 ] && [ "$others_rc" = 0 ] && exit 0
exit 1
