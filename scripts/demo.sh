#!/usr/bin/env bash
# Installs everything, brings up the built-in lab and starts the wizard on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
answers=$(.venv/bin/dhcp-wizard lab up)
exec .venv/bin/dhcp-wizard --answers "$answers" "$@"
