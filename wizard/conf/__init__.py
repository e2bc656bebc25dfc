"""dhcpd.conf engine: lossless parser and writer, semantic model, failover edits, pair lint.

Nothing here talks to a network or a UI; files come in through a Loader so that the SSH
layer can hand in remote configs later.
"""

from wizard.conf.loader import Loader, LocalLoader
from wizard.conf.parser import parse
from wizard.conf.tree import Block, Document, Stmt

__all__ = ["Block", "Document", "Loader", "LocalLoader", "Stmt", "parse"]
