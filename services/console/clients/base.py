"""What every client of another service shares: httpx with the console's own token and a timeout, and the two ways a
call ends badly, each with a message a person can read (the service's own detail, never a traceback)."""

from __future__ import annotations

from typing import Any

import httpx


class ServiceRefused(Exception):
    """The service answered, and said no (4xx): its status and its detail, which names no identifier."""

    def __init__(self, service: str, status_code: int, detail: str) -> None:
        super().__init__(f"{service} refused ({status_code}): {detail}")
        self.service = service
        self.status_code = status_code
        self.detail = detail


class ServiceUnavailable(Exception):
    """The service could not be reached or failed (5xx, timeout): nothing is known to have changed."""

    def __init__(self, service: str, why: str) -> None:
        super().__init__(f"{service} is unavailable ({why}); nothing was changed, try again")
        self.service = service
        self.why = why


class ServiceClient:
    """One service's API with the console's token; JSON in, JSON out."""

    def __init__(self, service: str, base_url: str, token: str, timeout: float,
                 transport: httpx.BaseTransport | None = None) -> None:  # fmt: skip
        self.service = service
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._json(self._send("GET", path, params=_clean(params)))

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._json(self._send("POST", path, json=body or {}))

    def delete(self, path: str) -> Any:
        return self._json(self._send("DELETE", path))

    def raw(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """A successful response as it came (bytes and headers: a report download)."""
        return self._send("GET", path, params=_clean(params))

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(self.service, type(exc).__name__) from None
        if response.status_code >= 500:
            raise ServiceUnavailable(self.service, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ServiceRefused(self.service, response.status_code, _detail(response))
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        return response.json() if response.content else None


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if params is None else {name: value for name, value in params.items() if value not in (None, "")}


def _detail(response: httpx.Response) -> str:
    """The service's `detail` as text: a string, or the validation errors' messages joined."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
    if isinstance(detail, list):
        return "; ".join(str(item.get("msg") or item.get("error") or item) if isinstance(item, dict) else str(item)
                         for item in detail)[:500]  # fmt: skip
    return str(detail)[:500] if detail else f"HTTP {response.status_code}"
