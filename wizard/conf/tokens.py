"""The scanner: compiled regular expressions that cut a whole config into statements.

A campus config has hundreds of thousands of lines, so the text is never walked character by
character in Python: one match of STATEMENT consumes the trivia before a statement, its head
and its terminator.

Every piece of a pattern can match a given text in one way only, so that when a later piece
fails, backtracking gives up at once instead of trying other splits of the text before it,
which on a 600k-line file would not finish. A repeat of one character is possessive (`*+`
gives nothing back); a repeat of a group is unrolled (a run of plain characters, then any
number of string-or-comment each followed by such a run), so that one given back leaves the
engine at a `"` or `#` where the rest of the pattern cannot match. STATEMENT never fails: a
head that stops at a string without its closing quote ends in an empty terminator, so the
file is read once to its end and the parser reports the string.

A repeat of a group is never possessive (`(...)*+`): CPython before 3.11.5 matched those
wrongly (gh-106052; Debian 12's 3.11.2 read `range 10.0.0.10 10.0.0.20;` in a block as
`10.0.0.10 10.0.0.20`). Possessive repeats of one character, a different opcode, are
unaffected. They need Python 3.11; written greedy instead (as 3.10 could read them), the
benchmark's block scans took a quarter longer and an unterminated string 8x as long.
"""

from __future__ import annotations

import re

# A double-quoted dhcpd string; backslash escapes anything, including a quote or a newline.
STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*"'
COMMENT = r"\#[^\n]*+"
TRIVIA = rf"\s*+(?:{COMMENT}\s*+)*"


def _up_to(stop: str) -> str:
    """Text before the first of the characters `stop` outside strings and comments."""
    return rf"[^{stop}\"\#]*+(?:(?:{STRING}|{COMMENT})[^{stop}\"\#]*+)*"


HEAD = _up_to(";{}")
# A comment on the same line as a terminator belongs to that statement, so that inserting a
# statement after it does not separate the two.
POST = rf"(?:[ \t]*+{COMMENT})?"
# An empty terminator: the end of the text, or the `"` of a string that never ends.
_STATEMENT = rf"(?P<pre>{TRIVIA})(?P<head>{HEAD})(?P<term>[;{{}}]?)(?P<post>{POST})"

STATEMENT = re.compile(_STATEMENT, re.S)

# `option foo code 1 = { text, ip-address };`: braces that are part of a record type, not a
# block. Matched from the `{` to the statement's `;`.
RECORD_TAIL = re.compile(rf"(?P<body>{_up_to('}')}\}}{HEAD});(?P<post>{POST})", re.S)
RECORD_OPENER = re.compile(rf"(?:=|\bof){TRIVIA}\Z")  # a comment may follow

# The body of a block without nested braces, up to its `}`: hosts are kept as this one
# string, since the wizard never edits inside them and a campus config has tens of thousands.
FLAT_BODY = re.compile(rf"(?P<body>{_up_to('{}')})\}}(?P<post>{POST})", re.S)

# Inside a block, the statements the model never looks at one by one (options, parameters,
# hosts whose body has no braces) are swallowed as one run per match, in C: a campus config
# is mostly such statements. A run holds only complete `;` statements whose first word is not
# one of SIGNIFICANT, and `host NAME { ... }` blocks without braces, comments or a record-type
# opener (`=`, `of`) in the head, so that re-reading a run statement by statement (when someone
# asks for the block's children) gives exactly what reading the whole file would have given.
SIGNIFICANT = r"(?i:range|include|failover|no)(?=[\s\"\#;{}]|\Z)"  # dhcpd ignores case
# Spaces in a name are taken only where more name follows, so that the lookbehinds see its
# last character rather than the spaces before the brace.
_NAME = r'[^;{}"\#\s]*+'
_FLAT_HOST = (rf"host\s{_NAME}(?:(?:\s++(?=[^\s{{]|\Z)|{STRING}){_NAME})*(?<!=)(?<!\bof)\s*+"
              rf"\{{{_up_to('{}')}\}}{POST}")
# A head never starts in trivia: else, where a run ends, the comments the trivia gives back
# would start a head running on to the next `;`, taking a `range` after them into the run.
RUN_AND_STATEMENT = re.compile(
    rf"(?:{TRIVIA}(?:{_FLAT_HOST}|(?![\s\#]|{SIGNIFICANT}){HEAD};{POST}))*{_STATEMENT}", re.S)

WORD = re.compile(rf'{STRING}|{COMMENT}|[^\s"\#]++', re.S)


def words(head: str) -> list[str]:
    """Significant words of a statement head; comments dropped, strings kept quoted."""
    if '"' not in head and "#" not in head:
        return head.split()  # the same words: \s and str.isspace agree on every character
    return [w for w in WORD.findall(head) if w[0] != "#"]


def glued(w: list[str]) -> list[str]:
    """Words with an address written apart put together: dhcpd reads an address as numbers
    and dots, each a token of its own, so `10 . 1 . 0 . 10` is 10.1.0.10 to it."""
    if not any(x[0] == "." or x[-1] == "." for x in w):
        return w
    out: list[str] = []
    for x in w:
        if out and (x[0] == "." or out[-1][-1] == "."):
            out[-1] += x
        else:
            out.append(x)
    return out


def unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == '"' and word[-1] == '"':
        return word[1:-1]
    return word


_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "b": "\b"}


def unescaped(text: str) -> str:
    """A string's characters as dhcpd's lexer reads them (conflex.c, read_string): `\\t`,
    `\\r`, `\\n`, `\\b`, `\\NNN` in octal, `\\xHH` in hex, and a backslash before any
    other character is that character."""
    if "\\" not in text:
        return text
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c != "\\" or i + 1 == n:
            out.append(c)
            i += 1
            continue
        nxt, digits = text[i + 1], text[i + 2:i + 4]
        if nxt in "0123" and len(digits) == 2 and all(d in _OCTAL for d in digits):
            out.append(_byte(int(text[i + 1:i + 4], 8)))
            i += 4
        elif nxt == "x" and len(digits) == 2 and all(d in _HEX for d in digits):
            out.append(_byte(int(digits, 16)))
            i += 4
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


_OCTAL, _HEX = "01234567", "0123456789abcdefABCDEF"


def _byte(value: int) -> str:
    # As the files' own bytes are read (loader.decode): a byte above 127 stays that byte
    # when the name is handed to the file system.
    return bytes([value]).decode("utf-8", "surrogateescape")
