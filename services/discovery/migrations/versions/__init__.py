"""Revisions of the discovery schema, oldest first."""
