"""Property-based fuzzing of plan and lint (issue 12): generated pairs of configs
(shared-networks, groups, includes, classes, hosts, OMAPI keys, comments, CRLF, Latin-1,
tabs, one-line blocks) and mutations of the ISC corpus, each held to the invariant:

  for a pair that the local `dhcpd -t` accepts, `plan --out` either exits 0 with a written
  tree that `dhcpd -t` accepts and `lint` passes, and that plans again to no change, or
  exits 2 with a located reason;

and for any pair: no traceback, no internal error, no secret on any stream or in the
session record.

Bounded for CI (a fixed, derandomized profile, about a minute on two cores). For a longer
run: DHCP_WIZARD_FUZZ=long (or DHCP_WIZARD_FUZZ_EXAMPLES=N) pytest tests/test_conf_fuzz.py
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.helpers.conf import (ANSWERS, DHCPD, DHCPD_REJECTS,  # noqa: E402
                                assert_parallel_plans_alike, corpus_files, needs_dhcpd, read)
from wizard.answers import load_answers  # noqa: E402
from wizard.cli import main  # noqa: E402
from wizard.conf.located import secrets_in  # noqa: E402
from wizard.conf.loader import decode  # noqa: E402

_LONG = os.environ.get("DHCP_WIZARD_FUZZ") == "long"
_EXAMPLES = int(os.environ.get("DHCP_WIZARD_FUZZ_EXAMPLES") or (3000 if _LONG else 0))
settings.register_profile(
    "conf-fuzz-ci", max_examples=200, derandomize=True, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "conf-fuzz-long", max_examples=_EXAMPLES or 3000, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = settings.get_profile("conf-fuzz-long" if _EXAMPLES else "conf-fuzz-ci")

SECRETS = ["c2VjcmV0LW9uZS1mb3ItdGhlLWZ1enplcg==", "dHdvLXNlY3JldHMtbWFrZS1hLW1pc21hdGNo"]
_LOCATED = re.compile(r"\S+:\d+(:\d+)?: |\S+ \(line \d+ as planned\): ")

# -- a config as nodes, rendered in one of many layouts ---------------------------------------
# ("stmt", text) | ("comment", text) | ("block", head, [children])


def _render(nodes, style) -> str:
    unit, one_line, latin1 = style["unit"], style["one_line"], style["latin1"]
    out: list[str] = []

    def emit(items, depth: int, inline: bool) -> None:
        for node in items:
            pad = "" if inline else unit * depth
            lead = " " if inline else "\n"
            if node[0] == "stmt":
                out.append(f"{lead}{pad}{node[1]};")
            elif node[0] == "comment":
                text = node[1] + (" caf\udce9" if latin1 else "")
                out.append(f"{lead}{pad}# {text}" + ("\n" if inline else ""))
            else:
                flat = one_line and all(c[0] == "stmt" for c in node[2])
                out.append(f"{lead}{pad}{node[1]} {{")
                emit(node[2], depth + 1, flat)
                out.append(" }" if flat else f"\n{pad}}}")

    emit(nodes, 0, False)
    text = "".join(out).lstrip("\n") + "\n"
    if style["crlf"]:
        text = text.replace("\n", "\r\n")
    if style["no_final_newline"]:
        text = text.rstrip("\r\n")
    return text


styles = st.fixed_dictionaries({
    "unit": st.sampled_from(["  ", "    ", "\t", " "]),
    "one_line": st.booleans(), "latin1": st.booleans(), "crlf": st.booleans(),
    "no_final_newline": st.booleans(),
})


@st.composite
def sites(draw):
    """A site: (nodes, cidrs of the subnets that have pools)."""
    n_subnets = draw(st.integers(1, 5))
    nets = draw(st.lists(st.integers(1, 200), min_size=n_subnets, max_size=n_subnets,
                         unique=True))
    classes = [f"class{i}" for i in range(draw(st.integers(0, 2)))]
    nodes: list = [("comment", "generated site")]
    nodes += draw(st.lists(st.sampled_from([
        ("stmt", "authoritative"), ("stmt", "default-lease-time 600"),
        ("stmt", "max-lease-time 7200"), ("stmt", 'option domain-name "example.org"'),
        ("stmt", "ddns-update-style none"), ("comment", "globals")]), max_size=4))
    for name in classes:
        nodes.append(("block", f'class "{name}"',
                      [("stmt", f'match if option vendor-class-identifier = "{name}"')]))
    if draw(st.booleans()):
        nodes.append(("block", "key omapi_key", [
            ("stmt", f"algorithm {draw(st.sampled_from(['hmac-md5', 'hmac-sha256']))}"),
            ("stmt", f"secret {SECRETS[0]}")]))
        nodes += [("stmt", "omapi-port 7911"), ("stmt", "omapi-key omapi_key")]
    host_no = [0]

    def host(net: int) -> tuple:
        host_no[0] += 1
        h = host_no[0]
        return ("block", f"host h{h}", [("stmt", f"hardware ethernet 02:00:00:00:{net:02x}:{h:02x}"),
                                        ("stmt", f"fixed-address 10.0.{net}.{200 + h % 50}")])

    def subnet(net: int, pools_here: bool) -> tuple:
        body: list = [("stmt", f"option routers 10.0.{net}.1")]
        if draw(st.booleans()):
            body.append(("comment", f"subnet {net}"))
        if pools_here:
            for k in range(draw(st.integers(1, 2))):
                lo = 10 + 80 * k
                pool: list = [("stmt", f"range 10.0.{net}.{lo} 10.0.{net}.{lo + 40}")]
                if classes and draw(st.booleans()):
                    pool.insert(0, ("stmt", f'allow members of "{draw(st.sampled_from(classes))}"'))
                if draw(st.booleans()):
                    body.append(("block", "pool", pool))
                else:  # a bare range: the plan wraps it in a pool
                    body.append(pool[-1])
        body += [host(net) for _ in range(draw(st.integers(0, 2)))]
        return ("block", f"subnet 10.0.{net}.0 netmask 255.255.255.0", body)

    remaining = list(nets)
    pooled: list[str] = []
    while remaining:
        kind = draw(st.sampled_from(["subnet", "subnet", "shared", "group"]))
        if kind == "shared" and len(remaining) >= 1:
            take = remaining[:draw(st.integers(1, min(3, len(remaining))))]
            remaining = remaining[len(take):]
            shared_pool = draw(st.booleans())
            body = [subnet(n, not (shared_pool and i == 0)) for i, n in enumerate(take)]
            if shared_pool:  # a pool at shared-network level, after its subnets
                body.append(("block", "pool", [
                    ("stmt", f"range 10.0.{take[0]}.150 10.0.{take[0]}.190")]))
            pooled += [f"10.0.{n}.0/24" for n in take]
            nodes.append(("block", f"shared-network net{take[0]}", body))
        elif kind == "group":
            net = remaining.pop(0)
            nodes.append(("block", "group", [subnet(net, True), host(net)]))
            pooled.append(f"10.0.{net}.0/24")
        else:
            net = remaining.pop(0)
            nodes.append(subnet(net, True))
            pooled.append(f"10.0.{net}.0/24")
    if draw(st.integers(0, 5)) == 0:
        # A peer already there (maybe after its pools: the plan must move it up), with a
        # statement in the wrong case and a setting dhcpd takes the last of when repeated.
        peer = ("block", 'failover peer "fo"', [
            ("stmt", draw(st.sampled_from(["primary", "PRIMARY", "secondary"]))),
            ("stmt", "address 10.9.0.1"), ("stmt", "peer address 10.9.0.2"),
            ("stmt", "mclt 1800"), ("stmt", "split 255"), ("stmt", "mclt 900")])
        nodes.insert(draw(st.integers(1, len(nodes))), peer)
        _refer_first_pool(nodes)
    return nodes, pooled


@st.composite
def generated_pairs(draw):
    nodes, pooled = draw(sites())
    primary_style = draw(styles)
    kind = draw(st.sampled_from(["same", "restyled", "fewer", "changed", "empty", "key"]))
    s_nodes = nodes
    if kind == "fewer" and len(nodes) > 2:
        drop = draw(st.integers(1, len(nodes) - 1))
        s_nodes = nodes[:drop] + nodes[drop + 1:]
    elif kind == "changed":
        s_nodes = _replace_text(nodes, ".40", ".41")
    elif kind == "empty":
        s_nodes = [("comment", "secondary: to be set up")]
    elif kind == "key":
        s_nodes = _replace_text(nodes, SECRETS[0], SECRETS[1])
    s_style = draw(styles) if kind in ("restyled", "fewer", "empty") else primary_style
    include = draw(st.sampled_from([None, None, "primary", "both"]))
    pools = draw(st.sampled_from([None, None, "first"]))
    chosen = f'pools = ["{pooled[0]}"]' if pools == "first" and pooled else ""
    return {"primary": (nodes, primary_style), "secondary": (s_nodes, s_style),
            "include": include, "answers": chosen}


def _refer_first_pool(nodes) -> bool:
    for node in nodes:
        if node[0] == "block" and node[1] == "pool":
            node[2].insert(0, ("stmt", 'failover peer "fo"'))
            return True
        if node[0] == "block" and _refer_first_pool(node[2]):
            return True
    return False


def _replace_text(nodes, old: str, new: str):
    out = []
    for node in nodes:
        if node[0] == "block":
            out.append(("block", node[1].replace(old, new), _replace_text(node[2], old, new)))
        else:
            out.append((node[0], node[1].replace(old, new)))
    return out


def _write_pair(folder: Path, case) -> tuple[Path, Path]:
    paths = {}
    for role in ("primary", "secondary"):
        nodes, style = case[role]
        path = folder / f"{role[0]}.conf"
        if case["include"] in ("both", role) and len(nodes) > 2:
            # The last top-level declaration moves to an included file, where it was.
            inc = folder / "etc" / f"{role}-part.conf"
            inc.parent.mkdir(exist_ok=True)
            inc.write_bytes(_render(nodes[-1:], style).encode("utf-8", "surrogateescape"))
            nodes = nodes[:-1] + [("stmt", f'include "{inc}"')]
        path.write_bytes(_render(nodes, style).encode("utf-8", "surrogateescape"))
        paths[role] = path
    (folder / "answers.toml").write_text(ANSWERS.format(failover=case["answers"], omapi=""))
    return paths["primary"], paths["secondary"]


# -- the invariant ----------------------------------------------------------------------------

def _dhcpd_accepts(path: Path) -> bool:
    proc = subprocess.run([DHCPD, "-4", "-t", "-cf", str(path)], capture_output=True,
                          timeout=60)
    return proc.returncode == 0


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _secrets(*paths: Path) -> list[str]:
    found = set(SECRETS)
    for path in paths:
        for p in [path, *path.parent.glob("etc/*.conf")]:
            if p.exists():
                found.update(secrets_in(decode(p.read_bytes())))
    return [s for s in found if len(s) >= 8]


def _no_secret(secrets: list[str], *texts: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text, "a secret reached a stream or the session record"


def _session_texts(folder: Path) -> list[str]:
    return [decode(p.read_bytes()) for p in folder.rglob("*") if p.is_file()]


def check_invariant(folder: Path, primary: Path, secondary: Path) -> None:
    answers = str(folder / "answers.toml")
    valid = _dhcpd_accepts(primary) and _dhcpd_accepts(secondary)
    out_dir = folder / "out"
    code, out, err = _cli("plan", "--answers", answers, "--from", str(primary), str(secondary),
                          "--out", str(out_dir), "--session", str(folder / "session"))
    assert "Traceback" not in err and "internal error" not in err, err
    assert code in (0, 2), (code, err)
    hypothesis.event(f"inputs {'accepted' if valid else 'rejected'} by dhcpd, plan exit {code}")
    if code == 2:
        hypothesis.event("refused: " + err.split("\n", 1)[0].split(": ", 3)[-1][:60])
    secrets = _secrets(primary, secondary)
    _no_secret(secrets, out, err, *_session_texts(folder / "session"))
    if code == 2:
        assert err.startswith("dhcp-wizard: error: ") and _LOCATED.search(err) or \
            "failover.pools" in err or "no pool or range" in err, err
        assert not out_dir.exists()
        return
    # The output of a pair dhcpd accepts (and, for the rest, whatever plan claimed).
    for role in ("primary", "secondary"):
        written = out_dir / f"{role}.conf"
        proc = subprocess.run([DHCPD, "-4", "-t", "-cf", str(written)], capture_output=True,
                              text=True, errors="replace", timeout=60)
        assert proc.returncode == 0, (valid, proc.stderr[-2000:])
    code, out, err = _cli("lint", str(out_dir / "primary.conf"), str(out_dir / "secondary.conf"))
    assert code == 0, out + err
    planned_secret = secrets_in(decode((out_dir / "primary.conf").read_bytes()))
    _no_secret(secrets + planned_secret, out, err)
    # The same plan made with the secondary in a forked child, as plan makes large ones.
    assert_parallel_plans_alike(load_answers(answers), str(primary), str(secondary))
    code, out, err = _cli("plan", "--answers", answers, "--from", str(out_dir / "primary.conf"),
                          str(out_dir / "secondary.conf"), "--session", str(folder / "again"))
    assert code == 0 and "no change" in out and "+++ " not in out, out + err
    _no_secret(secrets + planned_secret, out, err, *_session_texts(folder / "again"))


@needs_dhcpd
@PROFILE
@given(case=generated_pairs())
def test_generated_pairs_keep_the_invariant(case):
    with tempfile.TemporaryDirectory(prefix="conf-fuzz-") as tmp:
        folder = Path(tmp)
        check_invariant(folder, *_write_pair(folder, case))


# -- mutations of the corpus ------------------------------------------------------------------

def _corpus() -> list[Path]:
    usable = []
    for path in corpus_files():
        if path.name in DHCPD_REJECTS or "range" not in read(path):
            continue
        usable.append(path)
    return usable


CORPUS = _corpus()
_MUTATIONS = ["tabs", "crlf", "latin1", "nul-comment", "no-newline", "drop-line", "dup-line",
              "byte", "indent", "comment-first", "nest-group"]


def _mutate(text: str, how: str, at: float) -> str:
    lines = text.split("\n")
    k = int(at * max(len(lines) - 1, 0))
    if how == "tabs":
        return re.sub(r"(?m)^( {2})+", lambda m: "\t" * (len(m.group(0)) // 2), text)
    if how == "crlf":
        return text.replace("\r\n", "\n").replace("\n", "\r\n")
    if how == "latin1":
        lines.insert(k, "# r\udce9sum\udce9 \udcff")
    elif how == "nul-comment":
        lines.insert(k, "# a\0b")
    elif how == "no-newline":
        return text.rstrip("\n")
    elif how == "drop-line" and lines:
        del lines[k]
    elif how == "dup-line" and lines:
        lines.insert(k, lines[k])
    elif how == "byte":
        pos = int(at * len(text))
        return text[:pos] + "\udce9" + text[pos:]
    elif how == "indent":
        return "\n".join("   " + line if line.strip() else line for line in lines)
    elif how == "comment-first":
        return "# header added by an editor\n\n" + text
    elif how == "nest-group":
        return "group {\n" + text + "\n}\n" if "failover" not in text else text
    return "\n".join(lines)


@pytest.mark.skipif(not CORPUS, reason="the ISC corpus is not here")
@needs_dhcpd
@PROFILE
@given(data=st.data())
def test_corpus_mutations_keep_the_invariant(data):
    path = data.draw(st.sampled_from(CORPUS))
    text = read(path)
    how = data.draw(st.lists(st.sampled_from(_MUTATIONS), min_size=1, max_size=3))
    mutated = text
    for step in how:
        mutated = _mutate(mutated, step, data.draw(st.floats(0, 1)))
    which = data.draw(st.sampled_from(["primary", "secondary", "both"]))
    with tempfile.TemporaryDirectory(prefix="conf-fuzz-") as tmp:
        folder = Path(tmp)
        for role, name in (("primary", "p.conf"), ("secondary", "s.conf")):
            body = mutated if which in (role, "both") else text
            (folder / name).write_bytes(body.encode("utf-8", "surrogateescape"))
        # Includes of the corpus files are relative to the corpus folder.
        for sibling in path.parent.iterdir():
            if sibling.is_file() and not (folder / sibling.name).exists():
                shutil.copy(sibling, folder / sibling.name)
        (folder / "answers.toml").write_text(ANSWERS.format(failover="", omapi=""))
        check_invariant(folder, folder / "p.conf", folder / "s.conf")
