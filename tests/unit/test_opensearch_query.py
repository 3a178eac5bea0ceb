"""Pure logic of the opensearch store: which keyword field a data-map field is matched on, and its clauses."""

from __future__ import annotations

import pytest

from services.common.stores.opensearch_query import (
    MAX_CLAUSES,
    MappingProblem,
    MatchField,
    clauses,
    flattened,
    match_field,
    queries,
)

MAPPINGS = {"properties": {
    "email": {"type": "keyword", "normalizer": "folded"},
    "contact": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
    "note": {"type": "text"},
    "user": {"properties": {"id": {"type": "long"}}},
}}  # fmt: skip


def test_keyword_text_subfield_and_number_are_matched_exactly() -> None:
    assert match_field(MAPPINGS, "email") == MatchField("email", normalised=True)
    assert match_field(MAPPINGS, "contact") == MatchField("contact.raw", normalised=False)
    assert match_field(MAPPINGS, "user.id") == MatchField("user.id", normalised=True)


@pytest.mark.parametrize("name", ["note", "missing", "user.missing"])
def test_no_exact_form_is_a_mapping_problem(name: str) -> None:
    with pytest.raises(MappingProblem):
        match_field(MAPPINGS, name)


def test_emails_without_a_normaliser_are_case_insensitive_terms() -> None:
    (clause,) = clauses(MatchField("contact.raw", normalised=False), "email", ["a@x.com"])
    assert clause["bool"]["should"] == [{"term": {"contact.raw": {"value": "a@x.com", "case_insensitive": True}}}]
    assert list(clauses(MatchField("email", normalised=True), "email", ["a@x.com"])) == [
        {"terms": {"email": ["a@x.com"]}}
    ]
    assert list(clauses(MatchField("id", normalised=False), "account_id", ["A-1"])) == [{"terms": {"id": ["A-1"]}}]


def test_many_values_are_split_below_the_clause_limit() -> None:
    chunks = list(clauses(MatchField("id", normalised=False), "account_id", [str(n) for n in range(MAX_CLAUSES + 1)]))
    assert [len(chunk["terms"]["id"]) for chunk in chunks] == [MAX_CLAUSES, 1]


def test_flattened_names_objects_by_dotted_path() -> None:
    assert flattened({"user": {"name": "A", "geo": {"city": "B"}}, "ip": "1"}) == {
        "user.name": "A", "user.geo.city": "B", "ip": "1"}  # fmt: skip


def test_queries_stay_below_the_clause_limit() -> None:
    folded = list(
        clauses(MatchField("mail", normalised=False), "email", [f"{n}@x.com" for n in range(MAX_CLAUSES + 2)])
    )
    terms = {"terms": {"id": ["1"]}}
    split = list(queries([*folded, terms]))
    groups = [query["bool"]["filter"][0]["bool"]["should"] for query in split]
    assert [len(group) for group in groups] == [1, 2]  # 500 values, then 2 values + the terms clause
    assert groups[1][-1] == terms
