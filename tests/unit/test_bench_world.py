"""The scale and memory benches' request mix and totals (bench/world.py), without a pipeline."""

from __future__ import annotations

from collections import Counter

from bench import world

PEOPLE = [{"email": f"p{i}@example.com", "full_name": f"P {i}", "postal_code": "94110", "date_of_birth": "1980-01-01"}
          for i in range(50)]  # fmt: skip


def test_the_mix_is_in_its_proportions_and_names_every_kind() -> None:
    counts = Counter(body["type"] for body in world.mixed_requests(PEOPLE, 10_000))
    assert set(counts) == {kind for kind, _ in world.MIX}
    for kind, weight in world.MIX:
        assert abs(counts[kind] / 10_000 - weight / 100) < 0.02, kind


def test_each_kind_carries_the_verification_it_needs() -> None:
    person = PEOPLE[0]
    assert world.request_body("know_specific", person)["verification"]["signed_declaration"] is True
    assert set(world.request_body("delete", person)["verification"]["data_points"]) == {"name", "postal_code"}
    correct = world.request_body("correct", person)
    assert set(correct["corrections"]) == {"postal_code"} and len(correct["corrections"]["postal_code"]) == 5
    assert "verification" not in world.request_body("opt_out", person)


def test_people_are_reused_only_once_exhausted() -> None:
    emails = [body["identifiers"]["email"] for body in world.mixed_requests(PEOPLE, 120)]
    assert len(set(emails[:50])) == 50 and emails[50] == emails[0]


def test_totals_skip_unreadable_processes() -> None:
    memory = {"a": {"rss": 10.0, "hwm": 12.5}, "b": {"rss": None, "hwm": 3.0}}
    assert world.total(memory, "rss") == 10.0 and world.total(memory, "hwm") == 15.5
