import pytest

from tests.helpers.conf import corpus_params, read
from wizard.conf import Block, parse
from wizard.errors import InputError

TRICKY = (
    "# leading comment\n"
    "\toption domain-name \"a;b{c}#d\";  # trailing ; { }\n"
    "subnet 10.0.0.0 netmask 255.255.255.0\n"
    "{\n"
    "\trange 10.0.0.5 10.0.0.9; option routers 10.0.0.1;default-lease-time 60 ;\n"
    "\tpool { range 10.0.0.20   10.0.0.30; }   # end pool\n"
    "}\n"
    "class \"x\" { match if substring (option vendor-class-identifier, 0, 4) = \"SUNW\"; }\n"
    "option rec code 100 = { boolean, array of unsigned integer 8 };\n"
    "key k { algorithm hmac-md5; secret \"x\\\"y\"; };\n"
    "include \"/etc/dhcp/other.conf\";\n"
    "host h { hardware ethernet 0:1:2:3:4:5; } # no newline at end"
)


@pytest.mark.parametrize("path", corpus_params())
def test_corpus_round_trip_is_byte_identical(path):
    text = read(path)
    assert parse(text, str(path)).render() == text


@pytest.mark.parametrize("text", [
    TRICKY,
    TRICKY.replace("\n", "\r\n"),
    "",
    "\n\n# only a comment",
    "a;;b;",
    "option x \"caf\udce9\";\n",  # a Latin-1 byte decoded with surrogateescape
])
def test_round_trip_of_awkward_text(text):
    assert parse(text).render() == text


def test_tree_shape_of_awkward_text():
    doc = parse(TRICKY)
    kinds = [(type(n).__name__, n.keyword) for n in doc.children]
    assert kinds == [("Stmt", "option"), ("Block", "subnet"), ("Block", "class"),
                     ("Stmt", "option"), ("Block", "key"), ("Stmt", ""), ("Stmt", "include"),
                     ("Opaque", "host")]
    subnet = doc.children[1]
    assert [c.keyword for c in subnet.children] == ["range", "option", "default-lease-time", "pool"]
    assert subnet.line == 3 and subnet.children[3].line == 6
    assert doc.children[0].words == ["option", "domain-name", '"a;b{c}#d"']
    assert doc.children[0].post == "  # trailing ; { }"
    assert isinstance(subnet.children[3], Block)
    assert doc.children[6].arg(1) == "/etc/dhcp/other.conf"
    # Hosts stay one raw node (never edited); their text is kept whole.
    assert doc.children[7].body == " hardware ethernet 0:1:2:3:4:5; "
    assert doc.children[7].close_post == " # no newline at end"


def test_host_with_nested_braces_is_parsed_as_a_block():
    doc = parse("host h {\n  if exists foo { bar; }\n}\n")
    assert type(doc.children[0]) is Block and doc.children[0].children[0].keyword == "if"


@pytest.mark.parametrize("text, where, problem", [
    ("subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.5 10.0.0.9\n}\n", "2:26",
     "expected ';' before '}'"),
    ("option a \"b;\nc d;\n", "1:10", "unterminated string"),
    ("host x {\n  fixed-address 1.2.3.4;\n", "1:1", "block `host x` is never closed"),
    ("a;\n  }\n", "2:3", "unexpected '}'"),
    ("a;\nb", "2:2", "expected ';' at end of file"),
])
def test_broken_input_is_located(text, where, problem):
    with pytest.raises(InputError) as exc:
        parse(text, "f.conf")
    lines = exc.value.message.splitlines()
    assert lines[0].startswith(f"f.conf:{where}: {problem}")
    # The offending line, then a caret under the column.
    line_no, col = map(int, where.split(":"))
    assert lines[1].strip() == text.splitlines()[line_no - 1].strip()
    assert lines[2].index("^") - 2 == col - 1
    assert exc.value.exit_code == 2


LAZY = (
    "subnet 10.0.0.0 netmask 255.255.255.0 {\n"
    "  option routers 10.0.0.1;   # gw\n"
    "  host a { hardware ethernet 0:1:2:3:4:5; }\n"
    "  host b # why\n { fixed-address 10.0.0.7; }\n"
    "  host c = { x; };\n"
    "  host of { y; };\n"
    "  pool { range 10.0.0.10 10.0.0.20; }\n"
    "  host d { # after the brace\n    fixed-address 10.0.0.8; }\n"
    "  no-failover-like 1; ranges 2; rangex; \"range\" 3;\n"
    "}\n"
)


def _shape(nodes):
    out = []
    for n in nodes:
        out.append((type(n).__name__, n.line, n.pre, n.head, getattr(n, "post", ""),
                    getattr(n, "body", None)))
        if isinstance(n, Block):
            out.append(_shape(n.children))
    return out


def test_runs_read_later_give_the_nodes_a_full_read_gives():
    from wizard.conf.parser import _parse

    lazy = parse(LAZY)
    subnet = lazy.children[0]
    assert subnet.lazy and lazy.render() == LAZY  # rendered from the runs, untouched
    eager = _parse(LAZY, "<config>", skeletal=False)
    assert not eager.children[0].lazy
    assert _shape(lazy.children) == _shape(eager.children)
    assert lazy.render() == LAZY


def test_comment_after_a_host_brace_survives():
    text = "host x { # c\n  a; }\nsubnet 10.0.0.0 netmask 255.0.0.0 { host y { # d\n b; } }\n"
    doc = parse(text)
    assert doc.render() == text and doc.children[0].body == " # c\n  a; "


def test_a_copied_tree_renders_the_same_and_edits_stay_apart():
    text = LAZY + "group {\n  group {\n    host h { fixed-address 198.51.100.9; }\n  }\n}\n"
    doc = parse(text)
    twin = doc.copy("/other.conf")
    assert twin.path == "/other.conf" and twin.render() == text
    assert _shape(twin.children) == _shape(doc.children)
    # An edit to one (a block's nodes read, a head rewritten) never shows in the other.
    block = twin.children[0]
    block.children[0].set_head("option routers 198.51.100.254")
    assert twin.render() != text and doc.render() == text
    assert doc.children[0] is not block


def test_a_secondary_with_the_primary_bytes_is_copied_not_parsed_and_models_agree(tmp_path):
    from wizard.conf.model import load

    path = tmp_path / "p.conf"
    path.write_text(LAZY)
    p = load(str(path))
    s = load(str(tmp_path / "s.conf"), text=LAZY, like=p)
    fresh = load(str(tmp_path / "s.conf"), text=LAZY)
    assert s.main.path == str(tmp_path / "s.conf")
    assert [x.cidr for x in s.subnets] == [x.cidr for x in fresh.subnets]
    assert [(r.lo, r.hi) for x in s.pools for r in x.ranges] == \
        [(r.lo, r.hi) for x in fresh.pools for r in x.ranges]
    assert s.pools and s.pools[0].at.node is not p.pools[0].at.node
    # Other bytes: parsed as usual.
    other = load(str(tmp_path / "o.conf"), text=LAZY + "\n", like=p)
    assert other.main.render() == LAZY + "\n"
