"""Audit log: append-only, hash-chained record of changes and full personal-data reads."""
