"""Shared fixtures. The `lab` fixture brings up a real two-server lab for the whole session.

The test lab has its own name and subnet (dhwt, 203.0.113.0/25) so a developer's own lab
(dhw, 198.51.100.0/24) keeps running beside it, and a third (203.0.113.128/25) fits too.
A test lab that was already up is left up at the end. Where the lab cannot be built (not root,
packages missing) its tests are skipped, except under DHCP_WIZARD_REQUIRE_LAB=1 (CI), where
that is a failure: a suite that silently skips the real daemons proves nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# DHCP_WIZARD_TEST_LAB=NAME:SUBNET points the suite at another lab (two developers, one machine).
TEST_LAB_NAME, TEST_LAB_SUBNET = os.environ.get(
    "DHCP_WIZARD_TEST_LAB", "dhwt:203.0.113.0/25").split(":", 1)


def _require_lab() -> bool:
    return os.environ.get("DHCP_WIZARD_REQUIRE_LAB") == "1"


def pytest_collection_modifyitems(items):
    """Whatever uses the lab is a lab test, marked or not: `-m "not lab"` must never bring
    the lab up, or take down one that another run is using."""
    for item in items:
        if "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab_spec():
    from wizard.lab.spec import LabSpec

    return LabSpec(name=TEST_LAB_NAME, subnet=TEST_LAB_SUBNET)


@pytest.fixture(scope="session")
def lab(lab_spec):
    """A healthy lab (no skew); yields its status dict. Torn down at the end of the session."""
    from wizard.errors import WizardError
    from wizard.lab import lifecycle

    was_up = lifecycle.status(lab_spec)["running"]
    try:
        status = lifecycle.up(lab_spec, progress=lambda _m: None)
    except WizardError as exc:
        if _require_lab():
            pytest.fail(f"the lab could not be built: {exc.render()}")
        pytest.skip(f"lab unavailable: {exc.message}")
    yield status
    if not was_up:
        lifecycle.down(lab_spec, progress=lambda _m: None)


@pytest.fixture(scope="session")
def lab_answers(lab, lab_spec):
    from wizard.answers import load_answers

    return load_answers(lab_spec.answers_path)


def run_cli(*argv: str, timeout: float = 120):
    """Run dhcp-wizard as a user would: a separate process, real exit code and streams."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "wizard", *argv], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)
