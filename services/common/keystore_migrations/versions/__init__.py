"""Revisions of the key store schema, oldest first."""
