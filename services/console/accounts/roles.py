"""Roles and what each may do: a viewer reads, an operator also acts on requests, an admin also manages accounts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return RANKS[self]

    def may(self, needed: Role) -> bool:
        """Whether this role includes what `needed` may do (admin ⊃ operator ⊃ viewer)."""
        return self.rank >= needed.rank


RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Operator:
    """The person signed in: the account's id (pseudonymous: the only name for them on the record), the display
    name shown on the console's own pages, and the role."""

    id: str
    name: str
    role: Role

    def may(self, needed: Role) -> bool:
        return self.role.may(needed)
