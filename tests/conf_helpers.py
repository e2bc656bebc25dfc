"""Shared helpers for the tests of wizard.conf (not fixtures: plain functions)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "isc-examples"
DHCPD = "/usr/sbin/dhcpd"

# Files the README of the corpus says dhcpd 4.4.3-P1 itself rejects.
DHCPD_REJECTS = {
    "doc_examples_dhcpd-dhcpv6.conf", "keama_tests_configdata4.in4", "keama_tests_ifxsc4.in4",
    "keama_tests_notbx4.in4", "keama_tests_optionspace4.in4", "keama_tests_samples_simple.conf",
    "keama_tests_samples_test-a6.conf", "keama_tests_switchxsc4.in4", "keama_tests_zone4.in4",
}


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.iterdir() if p.suffix != ".md" and p.is_file())


def corpus_params():
    files = corpus_files()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"corpus not found at {CORPUS}"))]
    return [pytest.param(p, id=p.name) for p in files]


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


needs_dhcpd = pytest.mark.skipif(not (Path(DHCPD).exists() or shutil.which("dhcpd")),
                                 reason="dhcpd (isc-dhcp-server) is not installed")
