"""Revisions of the deletion schema, oldest first."""
