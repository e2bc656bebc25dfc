# Shortcuts; the scripts do the work (they also run where make is not installed).
.PHONY: setup demo test lab-down bench
setup:
	bash scripts/setup.sh
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
lab-down:
	.venv/bin/dhcp-wizard lab down
