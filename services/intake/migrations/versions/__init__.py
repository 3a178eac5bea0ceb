"""Revisions of the intake schema, oldest first."""
