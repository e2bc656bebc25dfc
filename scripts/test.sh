#!/usr/bin/env bash
# Installs what the tests need, then runs them all, the real-lab tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# In this mode a lab that cannot be built fails the run instead of skipping its tests.
export DHCP_WIZARD_REQUIRE_LAB=1
exec .venv/bin/python -m pytest "$@"
