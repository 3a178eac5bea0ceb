"""An authorised agent's signed permission (§7063): a PDF, PNG or JPEG told by its first bytes (never by its name or
declared type), stored sealed under the consumer's data key, never shown back; the request carries its reference."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from services.common.crypto import Sealer
from services.intake import orm

REFERENCE_PREFIX = "agent-permission:"
# File signatures: what the bytes are, whatever the browser said.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


class PermissionFileRefused(ValueError):
    """The file is empty or not a PDF, PNG or JPEG (the message is for the agent; it quotes nothing of the file)."""


@dataclass(frozen=True)
class StoredPermission:
    permission_id: str
    reference: str
    media_type: str
    size: int
    sha256: str


def media_type_of(content: bytes) -> str:
    """The file's type by its signature, or PermissionFileRefused."""
    if not content:
        raise PermissionFileRefused("The file is empty: attach the signed permission as a PDF, PNG or JPEG file.")
    for signature, media_type in MAGIC:
        if content.startswith(signature):
            return media_type
    raise PermissionFileRefused("The file is not a PDF, PNG or JPEG: attach the signed permission in one of those.")


def reference_of(permission_id: str) -> str:
    """What the request and its §7101 record carry: where the file is kept, nothing about the consumer."""
    return f"{REFERENCE_PREFIX}{permission_id}"


class AgentPermissions:
    """Stores signed permissions sealed; links each to its request once the request exists."""

    def __init__(self, engine: sa.Engine, sealer: Sealer) -> None:
        self.engine = engine
        self.sealer = sealer

    def store(self, content: bytes, subject_key: str, now: datetime) -> StoredPermission:
        media_type = media_type_of(content)
        permission_id = str(uuid.uuid4())
        sealed = self.sealer.seal_bytes(content, subject_key, permission_id)
        stored = StoredPermission(
            permission_id, reference_of(permission_id), media_type, len(content), hashlib.sha256(content).hexdigest()
        )
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(orm.agent_permissions).values(
                    permission_id=permission_id,
                    subject_key=subject_key,
                    request_id=None,
                    media_type=media_type,
                    size=stored.size,
                    sha256=stored.sha256,
                    content_sealed=sealed.to_json(),
                    received_at=now,
                )
            )
        return stored

    @staticmethod
    def link(conn: sa.Connection, reference: str, request_id: str) -> None:
        """In the request's transaction: the permission now belongs to `request_id`."""
        if not reference.startswith(REFERENCE_PREFIX):
            return
        permission_id = reference.removeprefix(REFERENCE_PREFIX)
        conn.execute(
            sa.update(orm.agent_permissions)
            .where(orm.agent_permissions.c.permission_id == permission_id)
            .values(request_id=request_id)
        )
