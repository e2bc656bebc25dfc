"""The concrete syntax tree: every byte of the file lives in exactly one field of one node.

A statement is `pre head ; post`: `pre` is the whitespace and comments before it, `head` the
text up to the terminator (inner comments and odd spacing included), `post` a comment on the
same line after the terminator. A block is `pre head { open_post children tail } close_post`.
Writing the fields back in order gives the file back, so an edit touches only the nodes it
changes. Nodes are slotted because a campus config has hundreds of thousands of them.

Inside blocks, statements the model never looks at one by one are first kept as a Run: a
span of the source, read statement by statement only when someone asks for the block's
children (see tokens.RUN_AND_STATEMENT). Walking the model and rendering use the block's
items as they are, runs included, so a campus config is mostly never split into nodes.
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
        """The first word in lower case: dhcpd reads its keywords in any case."""
        w = self.words
        return w[0].lower() if w else ""

    def says(self, *keywords: str) -> bool:
        """Whether the statement starts with these (lower-case) keywords, in any case."""
        w = self.words
        return len(w) >= len(keywords) and all(a.lower() == b for a, b in zip(w, keywords))

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


class Run:
    """Statements kept as their source span until someone needs them as nodes; `parse` is
    the parser that made it (wizard.conf.parser.parse_span), so the tree never imports it."""

    __slots__ = ("text", "start", "end", "line", "parse")

    def __init__(self, text: str, start: int, end: int, line: int, parse):
        self.text = text
        self.start = start
        self.end = end
        self.line = line
        self.parse = parse

    def emit(self, out: list[str]) -> None:
        out.append(self.text[self.start:self.end])

    def nodes(self) -> list[Stmt]:
        return self.parse(self.text, self.start, self.end, self.line)

    def __repr__(self) -> str:
        return f"<Run line {self.line}: {self.end - self.start} chars>"


class Block(Stmt):
    # items: the children, where some may still be Runs while lazy is true.
    __slots__ = ("open_post", "items", "lazy", "tail", "close_post")

    def __init__(self, pre: str, head: str, open_post: str = "", children: list | None = None,
                 tail: str = "", close_post: str = "", line: int = 0):
        # Stmt.__init__ spelt out: thousands of blocks, one call each saved.
        self.pre = pre
        self.head = head
        self.post = ""
        self.line = line
        self._words = None
        self.open_post = open_post
        self.items: list = children if children is not None else []
        self.lazy = False
        self.tail = tail
        self.close_post = close_post

    @property
    def children(self) -> list[Stmt]:
        if self.lazy:
            nodes: list[Stmt] = []
            for item in self.items:
                if type(item) is Run:
                    nodes += item.nodes()
                else:
                    nodes.append(item)
            # In place: whoever holds the list (a Where's siblings) sees the nodes too.
            self.items[:] = nodes
            self.lazy = False
        return self.items

    @children.setter
    def children(self, nodes: list[Stmt]) -> None:
        self.items = nodes
        self.lazy = False

    def emit(self, out: list[str]) -> None:
        # Blocks nest as deep as dhcpd lets them (thousands of groups): a stack, not recursion.
        out += (self.pre, self.head, "{", self.open_post)
        stack = [(self, iter(self.items))]
        while stack:
            block, items = stack[-1]
            for child in items:
                if type(child) is Block:
                    out += (child.pre, child.head, "{", child.open_post)
                    stack.append((child, iter(child.items)))
                    break
                child.emit(out)
            else:
                stack.pop()
                out += (block.tail, "}", block.close_post)


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

    def copy(self, path: str) -> "Document":
        """The same tree as new nodes (edits to one never show in the other), for a second
        file with the same bytes: a secondary copied from its primary, the usual case, is
        copied node by node in a fraction of what parsing it again costs. Runs are shared:
        nothing changes a run, a block that needs its nodes makes new ones."""
        root: list = []
        stack = [(iter(self.children), root)]  # no recursion: groups nest thousands deep
        while stack:
            nodes, into = stack[-1]
            for node in nodes:
                kind = type(node)
                if kind is Run:
                    into.append(node)
                elif kind is Block:
                    twin = Block(node.pre, node.head, node.open_post, [], node.tail,
                                 node.close_post, node.line)
                    twin.lazy = node.lazy
                    into.append(twin)
                    stack.append((iter(node.items), twin.items))
                    break
                elif kind is Opaque:
                    into.append(Opaque(node.pre, node.head, node.body, node.close_post,
                                       node.line))
                else:
                    into.append(Stmt(node.pre, node.head, node.post, node.line))
            else:
                stack.pop()
        return Document(path, root, self.tail, self.source)

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
