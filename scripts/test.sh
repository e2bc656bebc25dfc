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
# Two workers, each with its own lab (tests/conftest.py): the lab tests mostly wait on
# daemons and timers, so they run side by side. A file's tests stay on one worker.
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
