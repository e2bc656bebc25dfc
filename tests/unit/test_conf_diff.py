import difflib
import random
from types import SimpleNamespace

import pytest

from wizard.conf.diff import opcodes, unified

# Like a config: many identical lines, so a wrong resynchronisation would be easy.
BASE = [f"  option x {i % 5};\n" if i % 4 else "  }\n" for i in range(400)]


def mutate(rng: random.Random) -> list[str]:
    b = list(BASE)
    for _ in range(rng.randint(0, 15)):
        k = rng.randrange(len(b) + 1)
        roll = rng.random()
        if roll < 0.4:
            b[k:k] = [f"new {rng.random()}\n" for _ in range(rng.randint(1, 30))]
        elif roll < 0.7:
            del b[k:k + rng.randint(1, 6)]
        else:
            b[k:k + 1] = ["  }\n", f"changed {rng.random()}\n"]
    return b


@pytest.mark.parametrize("seed", range(200))
def test_opcodes_rebuild_the_new_text(seed):
    b = mutate(random.Random(seed))
    rebuilt = []
    for tag, i1, i2, j1, j2 in opcodes(BASE, b):
        if tag == "equal":
            assert BASE[i1:i2] == b[j1:j2]
        rebuilt += BASE[i1:i2] if tag == "equal" else b[j1:j2]
    assert rebuilt == b


def test_simple_change_reads_like_difflib():
    a = "a\nb\nc\nd\ne\nf\ng\nh\n"
    b = "a\nb\nc\nX\nd\ne\nf\ng\nh\n"
    assert unified(a, b, "a/f", "b/f") == "".join(difflib.unified_diff(
        a.splitlines(True), b.splitlines(True), "a/f", "b/f"))


def test_missing_final_newline_is_marked():
    assert unified("a\nb", "a\nc", "x", "y").endswith("+c\n\\ No newline at end of file\n")
    assert unified("same", "same", "x", "y") == ""


@pytest.mark.parametrize("before, after", [
    ("a\rb\nc\n", "a\rB\nc\n"),
    ("x\n\x0cy\nz", "x\n\x0cY\nz"),
    ("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\nX\n5\n6\n7\n8\n9"),
])
def test_only_the_last_line_can_lack_a_newline_as_gnu_diff_cuts_lines(before, after):
    # A lone \r or a form feed ends no line (GNU diff and patch cut at \n only).
    def cut(text):
        lines = [line + "\n" for line in text.split("\n")]
        return lines[:-1] + ([lines[-1][:-1]] if lines[-1] != "\n" else [])

    class Codes:
        def get_opcodes(self):
            return opcodes(cut(before), cut(after))

    a, b = cut(before), cut(after)
    mark = lambda p, line: p + line + ("" if line.endswith("\n") else "\n\\ No newline at end of file\n")
    body = []
    for group in difflib.SequenceMatcher.get_grouped_opcodes(Codes(), 3):
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                body += [mark(" ", x) for x in a[i1:i2]]
            else:
                body += [mark("-", x) for x in a[i1:i2]] + [mark("+", x) for x in b[j1:j2]]
    out = unified(before, after, "x", "y")
    assert "".join(line for line in cut(out) if not line.startswith(("---", "+++", "@@"))) \
        == "".join(body)


def _marked(prefix: str, line: str) -> str:
    return prefix + line + ("" if line.endswith("\n") else "\n\\ No newline at end of file\n")


def _reference(before: str, after: str, context: int) -> str:
    """unified() spelt out with difflib's grouping over our opcodes, one line at a time."""
    a, b = before.splitlines(True), after.splitlines(True)
    codes = SimpleNamespace(get_opcodes=lambda: opcodes(a, b))
    out = []
    for group in difflib.SequenceMatcher.get_grouped_opcodes(codes, context):
        first, last = group[0], group[-1]
        ra = difflib._format_range_unified(first[1], last[2])
        rb = difflib._format_range_unified(first[3], last[4])
        out.append(f"@@ -{ra} +{rb} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [_marked(" ", x) for x in a[i1:i2]]
            else:
                out += [_marked("-", x) for x in a[i1:i2]] + [_marked("+", x) for x in b[j1:j2]]
    return "".join(["--- x\n", "+++ y\n"] + out) if out else ""


@pytest.mark.parametrize("seed", range(150))
def test_unified_matches_the_grouped_opcodes_line_by_line(seed):
    # unified() has a fast path for texts whose every line ends with a newline; both paths
    # must say what the grouped opcodes say, at any context width.
    rng = random.Random(seed)
    before = "".join(BASE[:rng.choice([1, 5, 40, 400])])
    after = "".join(mutate(rng)[:len(before.splitlines()) + rng.randint(-3, 30)])
    if seed % 5 == 0:
        after = after.rstrip("\n")
    for context in (0, 1, 3, 5):
        if before != after:
            assert unified(before, after, "x", "y", context) == _reference(before, after, context)


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _kept(a: list[str], b: list[str]) -> int:
    return sum(i2 - i1 for tag, i1, i2, _, _ in opcodes(a, b) if tag == "equal")


@pytest.mark.parametrize("seed", range(40))
def test_the_diff_is_as_small_as_a_shortest_edit_script(seed):
    # Text as repetitive as a config (`  }` and the same options again and again), where
    # the first pass alone once matched lines one repetition off and showed whole blocks
    # removed and added again.
    b = mutate(random.Random(seed))
    assert _kept(BASE, b) == _lcs(BASE, b)
    rng = random.Random(seed)
    alphabet = "abc"[:rng.randint(1, 3)]
    x = [rng.choice(alphabet) + "\n" for _ in range(rng.randint(0, 40))]
    y = [rng.choice(alphabet) + "\n" for _ in range(rng.randint(0, 40))]
    assert _kept(x, y) == _lcs(x, y)


def test_one_changed_line_in_a_block_is_one_line_of_diff():
    block = ["  pool {\n", "    failover peer \"fo\";\n", "    range 10.0.0.10 10.0.0.50;\n",
             "  }\n"]
    a = [f"subnet 10.0.{i}.0 netmask 255.255.255.0 {{\n" for i in range(3)]
    a = [line for head in a for line in (head, *block, "}\n")]
    b = list(a)
    b[9] = "    range 10.0.0.10 10.0.0.99;\n"  # the second subnet's range
    changed = [line for line in unified("".join(a), "".join(b), "x", "y").splitlines()
               if line[:1] in "+-" and not line.startswith(("---", "+++"))]
    assert changed == ["-    range 10.0.0.10 10.0.0.50;", "+    range 10.0.0.10 10.0.0.99;"]


@pytest.mark.parametrize("at", [0, 1, 57, 200, 399, 400])
def test_a_block_longer_than_the_look_ahead_is_one_insertion(at):
    # What a plan adds to the top of a config: a failover peer declaration of thirteen lines
    # and an OMAPI key, made of lines the config repeats everywhere (`  }`, options).
    block = ["failover peer \"fo\" {\n"] + BASE[1:17] + ["}\n"]
    b = BASE[:at] + block + BASE[at:]
    codes = opcodes(BASE, b)
    assert {tag for tag, *_ in codes} <= {"equal", "insert"}
    assert _kept(BASE, b) == len(BASE)
    assert sum(j2 - j1 for tag, _, _, j1, j2 in codes if tag == "insert") == len(block)
