"""The scanner's matches, as the parser consumes them, on the shapes a config is made of.

CPython before 3.11.5 matched possessive repeats of groups wrongly (gh-106052): on Debian 12's
3.11.2 the first `range` inside a block came back as a statement headed `10.0.0.10 ...`.
"""

import pytest

from wizard.conf import parse
from wizard.conf.loader import MemoryLoader
from wizard.conf.model import load
from wizard.conf.tokens import FLAT_BODY, RECORD_OPENER, RECORD_TAIL, RUN_AND_STATEMENT, \
    STATEMENT, words
from wizard.errors import InputError


def scan(pattern, text, pos=0):
    """(run, pre, head, term, post) per match, up to the end of the text; `run` is what a
    match swallowed before the statement it ends on."""
    out = []
    while True:
        m = pattern.match(text, pos)
        assert m is not None, f"no match at {pos}: {text[pos:pos + 40]!r}"
        out.append((text[pos:m.start("pre")], *m.group("pre", "head", "term", "post")))
        if m.group("term") == "":
            return out
        pos = m.end()


def test_the_range_of_a_block_keeps_its_keyword():
    m = RUN_AND_STATEMENT.match("{\n\trange 10.0.0.10 10.0.0.20;\n}", 1)
    assert m.group("pre", "head", "term", "post") == ("\n\t", "range 10.0.0.10 10.0.0.20", ";",
                                                      "")
    assert m.start("pre") == 1


POOL = ("\n  option routers 10.0.0.1;\n  pool {\n    range 10.0.0.10 10.0.0.20;\n  }\n}\n")
HOSTS = ("\n  host a { hardware ethernet 0:1:2:3:4:5; }  # desk\n"
         "  host b { fixed-address 10.0.0.7; }\n  range 10.0.0.10 10.0.0.20;\n}")
ESCAPES = ('\n  option domain-name "a\\"; range {";\n  filename "x\\\\";\n'
           '  range 10.0.0.1 10.0.0.2;\n}')
COMMENTS = ("\n  # range 1 2;\n  option a 1; # range }\n  range 10.0.0.1 10.0.0.2; # tail\n"
            "  pool { # open\n  }\n}")
COMMENTED_OUT = "\n  # old pool\n  # range 10.0.0.1 10.0.0.9;\n  range 10.0.0.10 10.0.0.20;\n}"


@pytest.mark.parametrize("body, expected", [
    (POOL, [("\n  option routers 10.0.0.1;", "\n  ", "pool ", "{", ""),
            ("", "\n    ", "range 10.0.0.10 10.0.0.20", ";", ""),
            ("", "\n  ", "", "}", ""), ("", "\n", "", "}", ""), ("", "\n", "", "", "")]),
    (HOSTS, [("\n  host a { hardware ethernet 0:1:2:3:4:5; }  # desk\n"
              "  host b { fixed-address 10.0.0.7; }", "\n  ", "range 10.0.0.10 10.0.0.20", ";", ""),
             ("", "\n", "", "}", ""), ("", "", "", "", "")]),
    (ESCAPES, [('\n  option domain-name "a\\"; range {";\n  filename "x\\\\";', "\n  ",
                "range 10.0.0.1 10.0.0.2", ";", ""), ("", "\n", "", "}", ""), ("", "", "", "", "")]),
    (COMMENTS, [("\n  # range 1 2;\n  option a 1; # range }", "\n  ", "range 10.0.0.1 10.0.0.2",
                 ";", " # tail"),
                ("", "\n  ", "pool ", "{", " # open"), ("", "\n  ", "", "}", ""),
                ("", "\n", "", "}", ""), ("", "", "", "", "")]),
    # The comments are trivia, not the start of a head that runs on to the range's `;`.
    (COMMENTED_OUT, [("", "\n  # old pool\n  # range 10.0.0.1 10.0.0.9;\n  ",
                      "range 10.0.0.10 10.0.0.20", ";", ""), ("", "\n", "", "}", ""),
                     ("", "", "", "", "")]),
], ids=["pool", "hosts", "escapes", "comments", "commented-out"])
def test_a_block_body_is_cut_into_runs_and_statements(body, expected):
    assert scan(RUN_AND_STATEMENT, body) == expected


@pytest.mark.parametrize("body", [POOL, HOSTS, ESCAPES, COMMENTS, COMMENTED_OUT],
                         ids=["pool", "hosts", "escapes", "comments", "commented-out"])
def test_runs_re_read_one_by_one_give_what_a_full_read_gives(body):
    expanded = []
    for run, *statement in scan(RUN_AND_STATEMENT, body):
        if run:
            expanded += [s[1:] for s in scan(STATEMENT, run)][:-1]  # less the end of the run
        expanded.append(tuple(statement))
    one_by_one = [s[1:] for s in scan(STATEMENT, body)]
    assert expanded == one_by_one
    assert "".join("".join(s) for s in one_by_one) == body


def test_statements_one_by_one_on_strings_and_comments():
    text = 'option a "x\\"; y" ;# c ; {\n  "q\\\\" z { w; }'
    assert scan(STATEMENT, text) == [
        ("", "", 'option a "x\\"; y" ', ";", "# c ; {"),
        ("", "\n  ", '"q\\\\" z ', "{", ""),
        ("", " ", "w", ";", ""), ("", " ", "", "}", ""), ("", "", "", "", "")]


def test_host_body_record_type_and_words():
    body = FLAT_BODY.match(' hardware ethernet 0:1:2:3:4:5; # "}\n  option x "}"; }  # end\nz')
    assert body.group("body", "post") == (' hardware ethernet 0:1:2:3:4:5; # "}\n  option x "}"; ',
                                          "  # end")
    tail = RECORD_TAIL.match(' text, # } ;\n ip-address } ; # after\n', 0)
    assert tail.group("body", "post") == (" text, # } ;\n ip-address } ", " # after")
    assert RECORD_OPENER.search("option foo code 1 = # a comment\n ")
    assert not RECORD_OPENER.search("option foo code 1 = x ")
    assert words('option "a \\" b" # c "d\n  e') == ["option", '"a \\" b"', "e"]


# Hosts without a quote: an unterminated string before them runs to the end of the file.
HOSTS_BLOCKS = "".join(f"subnet 10.{i >> 8}.{i & 255}.0 netmask 255.255.255.0 {{\n"
                       f"  host h{i} {{ hardware ethernet 02:00:00:00:{i >> 8:02x}:{i & 255:02x}; }}\n"
                       "  option routers 10.0.0.1;\n}\n" for i in range(20_000))


@pytest.mark.parametrize("text, where", [
    ('option domain-name "campus;\n' + HOSTS_BLOCKS, "1:20"),
    ('option a "' + 'x\\"' * 50_000 + "\n" + HOSTS_BLOCKS, "1:10"),
    (HOSTS_BLOCKS + "subnet 10.255.0.0 netmask 255.255.0.0 {\n" + "  option b 1;\n" * 20_000
     + '  option c "oops;\n' + HOSTS_BLOCKS, "100002:12"),
], ids=["top", "escapes", "after-a-long-run"])
def test_an_unterminated_string_in_a_large_config_is_located(text, where):
    # Were there more than one way to match the text before the string, backtracking would
    # try them all, and this would not finish.
    with pytest.raises(InputError) as exc:
        parse(text, "big.conf")
    assert exc.value.message.startswith(f"big.conf:{where}: unterminated string")


def test_a_long_commented_out_section_in_a_block_is_trivia():
    # The model walks what runs leave out: a range swallowed by a run is a range lost.
    text = ("subnet 10.0.0.0 netmask 255.255.255.0 {\n" + "  # option old 1;\n" * 20_000
            + "  range 10.0.0.10 10.0.0.20;\n}\n")
    config = load("/x/dhcpd.conf", MemoryLoader({}), text)
    assert [r.at.node.line for r in config.subnets[0].bare_ranges] == [20_002]
