"""The opt-out states a cache holds, stored compactly (a million subjects in about a hundred megabytes): the 32-byte
key as bytes and one packed int (version and flags) per subject; the rare limits and the request ids apart, only
where present. Pure: no I/O, so the Kafka adapter (cache.py) and the unit tests share it."""

from __future__ import annotations

import uuid

from services.common.flows.decision import SubjectState

SALE, SHARE, HAS_EXTRA = 1, 2, 4
FLAG_BITS = 3


def _key(subject_key: str) -> bytes | None:
    try:
        return bytes.fromhex(subject_key)
    except ValueError:
        return None


def _request_bytes(request_id: str | None) -> bytes | str | None:
    if request_id is None:
        return None
    try:
        return uuid.UUID(request_id).bytes
    except ValueError:
        return request_id  # not a UUID: kept as it came


def _uuid_text(raw: bytes) -> str:
    """str(uuid.UUID(bytes=raw)), without building the UUID (a decision reads it)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class StateStore:
    """The latest state per subject key; never goes back to an older version."""

    def __init__(self) -> None:
        self.packed: dict[bytes, int] = {}
        self.limits: dict[bytes, frozenset[str]] = {}
        self.requests: dict[bytes, bytes | str] = {}
        self._interned: dict[frozenset[str], frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self.packed)

    def put(self, subject_key: str, state: SubjectState) -> bool:
        """Keep `state` if it is newer than what is held for the subject; whether it was kept."""
        key = _key(subject_key)
        if key is None:
            return False
        held = self.packed.get(key)
        if held is not None and held >> FLAG_BITS >= state.version:
            return False
        flags = (SALE if state.sale_opt_out else 0) | (SHARE if state.share_opt_out else 0)
        if state.limit_sensitive:
            self.limits[key] = self._interned.setdefault(state.limit_sensitive, state.limit_sensitive)
            flags |= HAS_EXTRA
        else:
            self.limits.pop(key, None)
        request = _request_bytes(state.request_id)
        if request is not None:
            self.requests[key] = request
        else:
            self.requests.pop(key, None)
        self.packed[key] = state.version << FLAG_BITS | flags
        return True

    def get(self, subject_key: str) -> SubjectState | None:
        """The subject's latest state, or None when none was read (or the key is no keyed hash)."""
        key = _key(subject_key)
        packed = self.packed.get(key) if key is not None else None
        if packed is None or key is None:
            return None
        request = self.requests.get(key)
        request_id = _uuid_text(request) if isinstance(request, bytes) else request
        return SubjectState(
            version=packed >> FLAG_BITS,
            sale_opt_out=bool(packed & SALE),
            share_opt_out=bool(packed & SHARE),
            limit_sensitive=self.limits.get(key, frozenset()) if packed & HAS_EXTRA else frozenset(),
            request_id=request_id,
        )

    def version(self, subject_key: str) -> int | None:
        """The version held for the subject (cheap: no state is built)."""
        key = _key(subject_key)
        packed = self.packed.get(key) if key is not None else None
        return None if packed is None else packed >> FLAG_BITS

    def clear(self) -> None:
        self.packed.clear()
        self.limits.clear()
        self.requests.clear()
