"""The concrete syntax tree: every byte of the file lives in exactly one field of one node.

A statement is `pre head ; post`: `pre` is the whitespace and comments before it, `head` the
text up to the terminator (inner comments and odd spacing included), `post` a comment on the
same line after the terminator. A block is `pre head { open_post children tail } close_post`.
Writing the fields back in order gives the file back, so an edit touches only the nodes it
changes. Nodes are slotted because a campus config has hundreds of thousands of them.
"""

from __future__ import annotations

from wizard.conf.tokens import unquote, words


class Stmt:
    __slots__ = ("pre", "head", "post", "line", "_words")

    def __init__(self, pre: str, head: str, post: str = "", line: int = 0):
        self.pre = pre
        self.head = head
        self.post = post
        self.line = line
        self._words: list[str] | None = None

    @property
    def words(self) -> list[str]:
        if self._words is None:
            self._words = words(self.head)
        return self._words

    @property
    def keyword(self) -> str:
        w = self.words
        return w[0] if w else ""

    def arg(self, index: int) -> str | None:
        """The index-th word without quotes, or None when the statement is shorter."""
        w = self.words
        return unquote(w[index]) if len(w) > index else None

    def set_head(self, head: str) -> None:
        self.head = head
        self._words = None

    def emit(self, out: list[str]) -> None:
        out += (self.pre, self.head, ";", self.post)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} line {self.line}: {self.head.strip()[:40]!r}>"


class Block(Stmt):
    __slots__ = ("open_post", "children", "tail", "close_post")

    def __init__(self, pre: str, head: str, open_post: str = "", children: list | None = None,
                 tail: str = "", close_post: str = "", line: int = 0):
        super().__init__(pre, head, "", line)
        self.open_post = open_post
        self.children: list[Stmt] = children if children is not None else []
        self.tail = tail
        self.close_post = close_post

    def emit(self, out: list[str]) -> None:
        out += (self.pre, self.head, "{", self.open_post)
        for child in self.children:
            child.emit(out)
        out += (self.tail, "}", self.close_post)


class Opaque(Stmt):
    """A block kept as raw text between its braces (a host): same bytes, one node."""

    __slots__ = ("body", "close_post")

    def __init__(self, pre: str, head: str, body: str, close_post: str = "", line: int = 0):
        super().__init__(pre, head, "", line)
        self.body = body
        self.close_post = close_post

    def emit(self, out: list[str]) -> None:
        out += (self.pre, self.head, "{", self.body, "}", self.close_post)


class Document:
    """One file: its top-level statements and the trivia after the last one."""

    __slots__ = ("path", "children", "tail", "source")

    def __init__(self, path: str, children: list[Stmt], tail: str, source: str):
        self.path = path
        self.children = children
        self.tail = tail
        self.source = source

    def render(self) -> str:
        out: list[str] = []
        for child in self.children:
            child.emit(out)
        out.append(self.tail)
        return "".join(out)

    def walk(self):
        """Every node, depth first, with the list that holds it."""
        stack = [(self.children, iter(self.children))]
        while stack:
            siblings, it = stack[-1]
            node = next(it, None)
            if node is None:
                stack.pop()
                continue
            yield node, siblings
            if isinstance(node, Block):
                stack.append((node.children, iter(node.children)))
