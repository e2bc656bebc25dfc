"""An existing OMAPI key is the servers' and other tools' too (issue 12, classes 4 and 8):
kept as it is, or changed only where the pair must agree, and always said."""

from __future__ import annotations

import pytest

from tests.helpers.conf import assert_dhcpd_and_lint_accept, planned_pair
from tests.conftest import run_cli
from wizard.conf.model import load
from wizard.errors import InputError

POOL = "subnet 10.1.0.0 netmask 255.255.255.0 {\n  pool {\n    range 10.1.0.10 10.1.0.50;\n  }\n}\n"
SHA = "c2hhMjU2LXNlY3JldC1vZi10aGUtcHJpbWFyeQ=="
OTHER = "c2Vjb25kYXJ5cy1vd24tc2VjcmV0LXZhbHVl"


def _key(name: str, algorithm: str, secret: str) -> str:
    return (f"omapi-port 7911;\nkey {name} {{\n  algorithm {algorithm};\n  secret {secret};\n}}\n"
            f"omapi-key {name};\n")


def _key_of(text: str) -> tuple[str, str]:
    key = load("c", text=text).keys["omapi_key"]
    return key.algorithm, key.secret


def test_an_existing_sha256_key_is_kept_on_both_sides_and_said(tmp_path):
    text = _key("omapi_key", "hmac-sha256", SHA) + POOL
    _, plan = planned_pair(tmp_path, text)
    for role in ("primary", "secondary"):
        assert _key_of(plan.main(role).after) == ("hmac-sha256", SHA)
    assert plan.secret == SHA and "reused" in plan.secret_origin
    assert any("keeps its algorithm hmac-sha256" in n for n in plan.notes)
    assert not any("replaced" in n for n in plan.notes)
    assert_dhcpd_and_lint_accept(plan)


def test_two_peers_with_different_keys_get_the_primarys_and_the_change_is_explained(tmp_path):
    primary = _key("omapi_key", "hmac-sha256", SHA) + POOL
    secondary = _key("omapi_key", "hmac-md5", OTHER) + POOL
    _, plan = planned_pair(tmp_path, primary, secondary)
    assert _key_of(plan.main("secondary").after) == ("hmac-sha256", SHA)
    said = [n for n in plan.notes if n.startswith("secondary: OMAPI key omapi_key")]
    assert len(said) == 1 and "secret" in said[0] and "hmac-md5 -> hmac-sha256" in said[0]
    assert "must switch" in said[0]
    assert not any(n.startswith("primary: OMAPI key") for n in plan.notes)
    assert_dhcpd_and_lint_accept(plan)


def test_a_key_only_the_secondary_has_is_the_one_both_get(tmp_path):
    secondary = _key("omapi_key", "hmac-sha512", OTHER) + POOL
    _, plan = planned_pair(tmp_path, POOL, secondary)
    for role in ("primary", "secondary"):
        assert _key_of(plan.main(role).after) == ("hmac-sha512", OTHER)
    assert_dhcpd_and_lint_accept(plan)


def test_an_omapi_key_of_another_name_is_not_renamed_behind_the_users_back(tmp_path):
    text = _key("tools_key", "hmac-sha256", SHA) + POOL
    with pytest.raises(InputError) as err:
        planned_pair(tmp_path, text)
    message, hint = str(err.value), err.value.hint
    assert message.startswith(f"{tmp_path / 'p.conf'}:6:") and '"tools_key"' in message
    assert 'key_name = "tools_key"' in hint and SHA not in message + hint


@pytest.mark.parametrize("change", [("secret", OTHER), ("algorithm", "hmac-sha1")])
def test_lint_fails_two_peers_whose_keys_differ(tmp_path, change):
    primary = _key("omapi_key", "hmac-md5", SHA) + POOL
    secondary = primary.replace(SHA if change[0] == "secret" else "hmac-md5", change[1])
    (tmp_path / "p.conf").write_text(primary)
    (tmp_path / "s.conf").write_text(secondary)
    proc = run_cli("lint", str(tmp_path / "p.conf"), str(tmp_path / "s.conf"))
    assert proc.returncode == 1
    assert "error: the two servers use different OMAPI keys" in proc.stdout
