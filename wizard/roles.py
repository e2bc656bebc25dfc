"""The two roles of a failover pair, named once for the whole code base."""

ROLES = ("primary", "secondary")
OTHER = {"primary": "secondary", "secondary": "primary"}
