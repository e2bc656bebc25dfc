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
# One lab per pytest-xdist worker, so the slow lab tests run side by side: the /25 halves of
# 203.0.113.0/24 and 198.51.100.0/24 (scripts/test.sh passes those no route uses yet, and
# runs a worker for each).
# DHCP_WIZARD_TEST_LABS=NAME:SUBNET[,NAME:SUBNET] points the suite at other labs (two
# developers, one machine); DHCP_WIZARD_TEST_LAB=NAME:SUBNET sets the first.
_LABS = os.environ.get("DHCP_WIZARD_TEST_LABS",
                       "dhwt:203.0.113.0/25,dhwu:203.0.113.128/25,dhwv:198.51.100.128/25,"
                       "dhwx:198.51.100.0/25")
if os.environ.get("DHCP_WIZARD_TEST_LAB"):
    _LABS = os.environ["DHCP_WIZARD_TEST_LAB"] + "," + _LABS
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_CHOSEN = _LABS.split(",")
if _WORKER >= len(_CHOSEN):
    raise RuntimeError(f"worker gw{_WORKER} has no lab: give DHCP_WIZARD_TEST_LABS one each")
TEST_LAB_NAME, TEST_LAB_SUBNET = _CHOSEN[_WORKER].split(":", 1)


def pytest_configure(config):
    # The test process is a front end like the CLI: it plugs the lab's drill probe into the
    # core, so a WizardApp built here drills with the lab's client as the CLI's would.
    from wizard.lab.probe import register

    register()


def _require_lab() -> bool:
    return os.environ.get("DHCP_WIZARD_REQUIRE_LAB") == "1"


# The lab test files that take longest (minutes of a worker each, in CI's slowest-25 list),
# heaviest first. xdist hands out files in collection order (--dist loadfile), so these go
# out first and the quick ones fill the gaps after: a heavy file dealt last would keep one
# worker busy minutes after the others are done.
_HEAVY_FIRST = ("test_interrupt_kill", "test_apply", "test_interrupt_faults", "test_upgrade",
                "test_upgrade_bad_day", "test_tui_upgrade", "test_tui_lab_interrupt",
                "test_routed_deploy", "test_protect_firewall", "test_protect_tunnel",
                "test_routed_tui", "test_tui_lab", "test_deploy", "test_deploy_faults",
                "test_tui_protect_tunnel", "test_protect_firewall_iptables")


def pytest_collection_modifyitems(items):
    """Whatever uses the lab is a lab test, marked or not: `-m "not lab"` must never bring
    the lab up, or take down one that another run is using. Heavy lab files first (see
    _HEAVY_FIRST), then the other lab files, then the rest; a file's tests keep their order."""
    for item in items:
        if "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)
    rank = {name: i for i, name in enumerate(_HEAVY_FIRST)}

    def weight(item) -> tuple[int, int]:
        stem = item.path.stem if hasattr(item, "path") else ""
        if stem in rank:
            return (0, rank[stem])
        return (1, 0) if item.get_closest_marker("lab") else (2, 0)

    items.sort(key=weight)    # stable: within a file, and among equals, the order stays


@pytest.fixture(scope="session")
def lab_spec():
    from wizard.lab.spec import LabSpec

    return LabSpec(name=TEST_LAB_NAME, subnet=TEST_LAB_SUBNET)


@pytest.fixture(scope="session")
def _lab_session(lab_spec):
    """Builds the lab once per worker and removes it at the end, unless it was already up."""
    from wizard.errors import WizardError
    from wizard.lab import lifecycle
    was_up = lifecycle.status(lab_spec)["running"]
    try:
        lifecycle.up(lab_spec, progress=lambda _m: None)
    except WizardError as exc:
        if _require_lab():
            pytest.fail(f"the lab could not be built: {exc.render()}")
        pytest.skip(f"lab unavailable: {exc.message}")
    yield
    if not was_up:
        lifecycle.down(lab_spec, progress=lambda _m: None)


@pytest.fixture(scope="module")
def lab(_lab_session, lab_spec):
    """A healthy lab (no skew); its status dict. Brought up again for each module when one
    before took it down or skewed it: test files run in any order across the workers."""
    from wizard.lab import lifecycle
    return lifecycle.up(lab_spec, progress=lambda _m: None)


@pytest.fixture(scope="module")
def lab_answers(lab, lab_spec):
    from wizard.answers import load_answers

    return load_answers(lab_spec.answers_path)


@pytest.fixture(scope="module")
def baseline_after(lab_spec):
    """For modules that leave the lab in failover: the plain baseline again at their end,
    for the modules that expect it."""
    yield
    from tests.helpers.apply import fresh

    fresh(lab_spec)


# The routed lab of the tests: users' networks as the lab can build them. The servers on two
# sites behind a router whose dhcrelay serves the client segment, a Debian primary and a
# RHEL-layout secondary, root login refused (the answers log in as the sudo user).
ROUTED = {"topology": "routed", "flavor_secondary": "rhel", "root_login": False}


@pytest.fixture(scope="module")
def routed_spec():
    from wizard.lab.spec import LabSpec

    return LabSpec(name=TEST_LAB_NAME, subnet=TEST_LAB_SUBNET, **ROUTED)


@pytest.fixture(scope="module")
def routed_lab(_lab_session, routed_spec):
    """The worker's lab, rebuilt routed for the module (the next module's `lab` rebuilds
    it flat: a build takes about 3 s); its status dict."""
    from wizard.lab import lifecycle

    return lifecycle.up(routed_spec, progress=lambda _m: None)


def run_cli(*argv: str, timeout: float = 120):
    """Run dhcp-wizard as a user would: a separate process, real exit code and streams."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "wizard", *argv], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)
