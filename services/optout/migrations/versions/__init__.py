"""Revisions of the optout schema, oldest first."""
