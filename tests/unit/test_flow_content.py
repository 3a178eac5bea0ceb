"""The content classifier: titles, URLs and search terms that imply a health condition, a sexual orientation or a
precise location are flagged by category; ordinary shop pages are not."""

from __future__ import annotations

import pytest

from services.common.flows.content import revealed_sensitive


@pytest.mark.parametrize(("text", "expected"), [
    ("Living with Type 2 Diabetes: 10 kitchen tips", {"health"}),
    ("https://shop.example/blog/early-signs-of-multiple-sclerosis?ref=home", {"health"}),
    ("/search?q=erectile+dysfunction+treatment", {"health"}),
    ("/articles/what-to-expect-when-pregnant", {"health"}),
    ("Coming out to your family: a guide", {"sex_life_orientation"}),
    ("https://shop.example/collections/lgbtq-pride-mugs", {"sex_life_orientation"}),
    ("/stores/near-me?lat=37.774929&lng=-122.419416", {"precise_geolocation"}),
    ("checked in at 37.77493, -122.41942", {"precise_geolocation"}),
    ("/blog/my%20ptsd%20story", {"health"}),
])  # fmt: skip
def test_revealing_text_is_flagged_with_its_category(text: str, expected: set[str]) -> None:
    assert revealed_sensitive(text) == expected


@pytest.mark.parametrize("text", [
    "Linen duvet covers, queen size",
    "https://shop.example/products/cast-iron-skillet?variant=3",
    "/search?q=gray+throw+pillows",
    "Order 37.50 shipped to San Francisco",
    "/stores/near-me?lat=37.8&lng=-122.4",
    "",
])  # fmt: skip
def test_ordinary_shop_text_is_not_flagged(text: str) -> None:
    assert revealed_sensitive(text) == frozenset()


@pytest.mark.parametrize(("text", "expected"), [
    ("Living with Crohn\u2019s disease: what to eat", {"health"}),  # a typographic apostrophe, as titles have
    ("Early signs of a heart attack in women", {"health"}),
    ("/search?q=high+cholesterol+diet", {"health"}),
    ("How to talk to your doctor about hair loss", {"health"}),
    ("Exploring your gender identity", {"sex_life_orientation"}),
])  # fmt: skip
def test_titles_and_searches_the_first_vocabulary_missed(text: str, expected: set[str]) -> None:
    assert revealed_sensitive(text) == expected
