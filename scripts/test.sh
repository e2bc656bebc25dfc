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
# so they run side by side. Three labs where 198.51.100.0/24 is free; where a lab of yours
# uses it, two (both halves of 203.0.113.0/24). A file's tests stay on one worker.
workers=3
if ip -4 route 2>/dev/null | grep -q '^198\.51\.100\.'; then workers=2; fi
exec .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
