"""The scanner: compiled regular expressions that cut a whole config into statements.

A campus config has hundreds of thousands of lines, so the text is never walked character by
character in Python: one match of STATEMENT consumes the trivia before a statement, its head
and its terminator. Possessive quantifiers keep a failed match (an unterminated string) from
backtracking through the whole file.
"""

from __future__ import annotations

import re

# A double-quoted dhcpd string; backslash escapes anything, including a quote or a newline.
STRING = r'"(?:[^"\\]++|\\.)*+"'
TRIVIA = r"(?:\s++|\#[^\n]*+)*+"
HEAD = rf"(?:[^;{{}}\"\#]++|{STRING}|\#[^\n]*+)*+"
# A comment on the same line as a terminator belongs to that statement, so that inserting a
# statement after it does not separate the two.
POST = r"(?:[ \t]*+\#[^\n]*+)?"

STATEMENT = re.compile(
    rf"(?P<pre>{TRIVIA})(?P<head>{HEAD})(?P<term>[;{{}}]|\Z)(?P<post>{POST})", re.S)

# `option foo code 1 = { text, ip-address };`: braces that are part of a record type, not a
# block. Matched from the `{` to the statement's `;`.
RECORD_TAIL = re.compile(rf"(?P<body>(?:[^}}\"\#]++|{STRING}|\#[^\n]*+)*+\}}{HEAD});(?P<post>{POST})",
                         re.S)
RECORD_OPENER = re.compile(r"(?:=|\bof)(?:\s++|\#[^\n]*+)*+\Z")  # a comment may follow

# The body of a block without nested braces, up to its `}`: hosts are kept as this one
# string, since the wizard never edits inside them and a campus config has tens of thousands.
FLAT_BODY = re.compile(rf"(?P<body>(?:[^{{}}\"\#]++|{STRING}|\#[^\n]*+)*+)\}}(?P<post>{POST})", re.S)

# Inside a block, the statements the model never looks at one by one (options, parameters,
# hosts whose body has no braces) are swallowed as one run per match, in C: a campus config
# is mostly such statements. A run holds only complete `;` statements whose first word is not
# one of SIGNIFICANT, and `host NAME { ... }` blocks without braces, comments or a record-type
# opener (`=`, `of`) in the head, so that re-reading a run statement by statement (when someone
# asks for the block's children) gives exactly what reading the whole file would have given.
SIGNIFICANT = r"(?i:range|include|failover|no)(?=[\s\"\#;{}]|\Z)"  # dhcpd ignores case
_FLAT_HOST = (rf"host\s(?:[^;{{}}\"\#\s]++|\s++(?=[^\s{{]|\Z)|{STRING})*+(?<!=)(?<!\bof)\s*+\{{"
              rf"(?:[^{{}}\"\#]++|{STRING}|\#[^\n]*+)*+\}}{POST}")
RUN_AND_STATEMENT = re.compile(
    rf"(?:{TRIVIA}(?:{_FLAT_HOST}|(?!{SIGNIFICANT}){HEAD};{POST}))*+"
    rf"(?P<pre>{TRIVIA})(?P<head>{HEAD})(?P<term>[;{{}}]|\Z)(?P<post>{POST})", re.S)

PRE_AND_HEAD = re.compile(rf"{TRIVIA}{HEAD}", re.S)

WORD = re.compile(rf'{STRING}|\#[^\n]*+|[^\s"\#]++', re.S)


def words(head: str) -> list[str]:
    """Significant words of a statement head; comments dropped, strings kept quoted."""
    if '"' not in head and "#" not in head:
        return head.split()  # the same words: \s and str.isspace agree on every character
    return [w for w in WORD.findall(head) if w[0] != "#"]


def unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == '"' and word[-1] == '"':
        return word[1:-1]
    return word
