"""After signing in, the console goes back only to a page of its own: never to another site."""

from __future__ import annotations

import pytest

from services.console.web.auth_pages import local_path


@pytest.mark.parametrize("path", ["/queue", "/requests/3f1c?tab=record", "/"])
def test_a_local_path_is_kept(path: str) -> None:
    assert local_path(path) == path


ELSEWHERE = [None, "", "queue", "//evil.example/x", "/\\evil.example", "https://evil.example/",
             "/queue\r\nSet-Cookie: x", "/a b", "/\\/evil.example", "javascript:alert(1)"]  # fmt: skip


@pytest.mark.parametrize("path", ELSEWHERE)
def test_anything_else_goes_to_the_console_home(path: str | None) -> None:
    assert local_path(path) == "/"
