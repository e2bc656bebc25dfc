"""OMAPI edits: `omapi-port`, the `key` block and `omapi-key`, reused or updated in place."""

from __future__ import annotations

from wizard.conf import edits
from wizard.conf.model import Config
from wizard.conf.omapi_key import same_algorithm
from wizard.conf.tree import Block

ALGORITHM = "hmac-md5"  # the only one pypureomapi speaks: what a new key gets


def apply(config: Config, port: int, key_name: str, secret: str,
          default_unit: str = "    ", algorithm: str = ALGORITHM,
          notes: list[str] | None = None) -> None:
    """notes gets what changes for the server's other OMAPI clients (another port, a key
    where there was none): they stop working, and only the diff would show it."""
    notes = [] if notes is None else notes
    unit = edits.indent_unit(config.main, default_unit)
    missing = []
    if config.omapi_port is not None:
        old = config.omapi_port.node.arg(1) or ""
        if edits.set_words(config.omapi_port.node, f"omapi-port {port}"):
            notes.append(f"{config.omapi_port.location}: omapi-port {old} changed to {port} "
                         "(the answers' [omapi] port): every other OMAPI client of this server "
                         f"must connect to {port}; to keep {old}, set port = {old} under "
                         "[omapi] in the answers")
    else:
        missing.append(edits.snippet(f"omapi-port {port};"))
    if config.omapi_key is not None:
        edits.set_words(config.omapi_key.node, f"omapi-key {key_name}")
    else:
        if config.omapi_port is not None:
            notes.append(f"{config.omapi_port.location}: OMAPI was open (no omapi-key: "
                         "anyone who reaches the port may change leases and the failover "
                         f"state); it now requires key {key_name}: every other OMAPI client "
                         "of this server must authenticate with it")
        missing.append(edits.snippet(f"omapi-key {key_name};"))
    key = config.keys.get(key_name)
    if key is None:
        lines = [f"algorithm {algorithm};", f"secret {secret};"]
        missing.append(edits.snippet(edits.block_text(f"key {key_name}", lines, "", unit)))
    else:
        _update_key(key.at.node, key.algorithm, key.secret, secret, unit, algorithm)
    if missing:
        _insert_globals(config, missing, unit)


def _update_key(block: Block, algorithm: str | None, old: str | None, secret: str,
                unit: str, new_algorithm: str) -> None:
    wanted = {"algorithm": (algorithm, new_algorithm), "secret": (old, secret)}
    for stmt in block.children:
        pair = wanted.pop(stmt.keyword, None)
        if pair is None:
            continue
        same = same_algorithm(*pair) if stmt.keyword == "algorithm" else pair[0] == pair[1]
        if not same:
            stmt.set_head(f"{stmt.keyword} {pair[1]}")
    for word, (_, value) in wanted.items():
        edits.append(block, [edits.snippet(f"{word} {value};")], unit)


def _insert_globals(config: Config, nodes, unit: str) -> None:
    """Global statements go after the leading global settings, before the first declaration."""
    main = config.main.children
    for index, node in enumerate(main):
        if isinstance(node, Block) or node.keyword == "include":
            # A block gets a blank line after it, as the generated key block ends the group.
            edits.insert_before(main, index, nodes, gap=True)
            return
    edits.append(config.main, nodes, unit, gap=bool(main))
