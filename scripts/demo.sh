#!/usr/bin/env bash
# Installs everything, brings up the built-in lab and starts the wizard on it.
#
#   sudo bash scripts/demo.sh [--name NAME] [--subnet CIDR] [--skew-secondary S] [wizard options]
#
# The lab options go to `dhcp-wizard lab up` (another name and subnet build a second lab
# beside the default one); anything else goes to the wizard.
set -euo pipefail
cd "$(dirname "$0")/.."
lab_args=()
wizard_args=()
while [ $# -gt 0 ]; do
	case "$1" in
		--name|--subnet|--skew-secondary)
			[ $# -ge 2 ] || { echo "demo.sh: $1 needs a value" >&2; exit 2; }
			lab_args+=("$1" "$2")
			shift 2
			;;
		--name=*|--subnet=*|--skew-secondary=*)
			lab_args+=("$1")
			shift
			;;
		*)
			wizard_args+=("$1")
			shift
			;;
	esac
done
bash scripts/setup.sh
answers=$(.venv/bin/dhcp-wizard lab up "${lab_args[@]}")
exec .venv/bin/dhcp-wizard --answers "$answers" "${wizard_args[@]}"
