"""Pairs and answers found by the second adversarial sweep of the planner (issue 12) that
broke its promise: each test names the input, what the plan did, and what it must do."""

from __future__ import annotations

import base64

from tests.helpers.conf import assert_dhcpd_and_lint_accept, planned_pair

SUBNET = ("subnet 198.51.100.0 netmask 255.255.255.0 {\n"
          "  pool { range 198.51.100.10 198.51.100.20; }\n}\n")


# -- omapi.secret_file -----------------------------------------------------------------------

def test_a_secret_file_wrapped_as_openssl_writes_it_is_one_secret(tmp_path):
    # `openssl rand -base64 64 > omapi.secret` wraps the 88 characters at 64: the plan
    # refused the file as "does not hold a base64 secret".
    secret = base64.b64encode(bytes(range(64))).decode()
    (tmp_path / "omapi.secret").write_text(secret[:64] + "\n" + secret[64:] + "\n")
    _, plan = planned_pair(tmp_path, SUBNET,
                           omapi=f'secret_file = "{tmp_path / "omapi.secret"}"')
    assert plan.secret == secret
    assert plan.secret_origin.startswith("read from")
    assert f"secret {secret};" in plan.main("secondary").after
    assert_dhcpd_and_lint_accept(plan)
