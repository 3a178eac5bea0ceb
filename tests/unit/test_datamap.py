"""The data map loader: a valid map loads; every kind of mistake is named with file, path and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.datamap import DataMapError, load_datamap, parse_datamap

VALID = """
business: Acme Outdoor Co.
recipients:
  - {name: mailer, role: service_provider, category: email delivery}
  - {name: adnet, role: third_party, category: advertising networks}
stores:
  - name: app
    kind: sql
    url: ${APP_URL:-sqlite://}
    collections:
      - name: users
        primary_key: [id]
        fields:
          - {name: id, identifies: account_id, category: A}
          - {name: email, identifies: email, category: A, disclosed_to: [mailer], shared_to: [adnet]}
          - {name: ssn, category: L, sensitive: ssn_dl_state_id_passport, withheld: ssn}
      - name: orders
        timestamp_field: placed_at
        fields:
          - {name: id, identifies: order_id}
          - {name: user_id, references: users.id}
          - {name: placed_at}
          - name: total
            category: D
            deletion: {strategy: retain, exemption: legal_obligation, retain_for: P7Y}
  - name: cache
    kind: redis
    url: redis://127.0.0.1:6379/0
    collections:
      - {name: sessions, key_pattern: "session:{account_id}", fields: [{name: ip, category: F}]}
"""


def problems_of(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(DataMapError) as caught:
        parse_datamap(text, "company.yaml", env or {})
    assert str(caught.value).startswith("company.yaml: invalid data map")
    return caught.value.problems


def test_valid_map_loads_and_resolves_references() -> None:
    datamap = parse_datamap(VALID, env={})
    app = datamap.store("app")
    assert app is not None and app.url == "sqlite://"
    orders = app.collection("orders")
    assert orders is not None
    user_id = orders.field("user_id")
    assert user_id is not None
    assert datamap.identifier_kind(app, orders, user_id) == "account_id"
    cache = datamap.store("cache")
    assert cache is not None and cache.collections[0].key_kinds() == ("account_id",)


def test_environment_values_are_substituted() -> None:
    datamap = parse_datamap(VALID, env={"APP_URL": "postgresql://db/app"})
    app = datamap.store("app")
    assert app is not None and app.url == "postgresql://db/app"


def test_unknown_store_kind_names_the_store_and_the_choices() -> None:
    [problem] = problems_of(VALID.replace("kind: redis", "kind: mongo"))
    assert problem.startswith("stores[cache].kind:")
    assert "'mongo'" in problem and "'sql'" in problem


def test_category_outside_a_to_l() -> None:
    [problem] = problems_of(VALID.replace("{name: ip, category: F}", "{name: ip, category: M}"))
    assert problem.startswith("stores[cache].collections[sessions].fields[ip].category:")
    assert "'M'" in problem


def test_sensitive_category_needs_a_statutory_sub_category() -> None:
    [problem] = problems_of(VALID.replace("sensitive: ssn_dl_state_id_passport", "sensitive: secrets"))
    assert problem.startswith("stores[app].collections[users].fields[ssn]:")
    assert "ssn_dl_state_id_passport" in problem


def test_unknown_exemption_code() -> None:
    [problem] = problems_of(VALID.replace("exemption: legal_obligation", "exemption: taxes"))
    assert "fields[total].deletion" in problem and "'taxes'" in problem and "legal_obligation" in problem


def test_retain_needs_an_iso_duration() -> None:
    [problem] = problems_of(VALID.replace("retain_for: P7Y", "retain_for: seven years"))
    assert "ISO-8601" in problem


def test_reference_to_a_missing_field() -> None:
    [problem] = problems_of(VALID.replace("references: users.id", "references: users.uid"))
    assert problem == (
        "stores[app].collections[orders].fields[user_id].references: 'users.uid' names no field "
        "(expected table.field or store.table.field)"
    )


def test_unknown_recipient() -> None:
    [problem] = problems_of(VALID.replace("shared_to: [adnet]", "shared_to: [adnetwork]"))
    assert (
        problem
        == "stores[app].collections[users].fields[email].shared_to: no recipient named 'adnetwork' in `recipients`"
    )


def test_withheld_kind_must_be_one_of_7024d() -> None:
    [problem] = problems_of(VALID.replace("withheld: ssn", "withheld: shoe_size"))
    assert "'shoe_size'" in problem and "financial_account" in problem


def test_unknown_key_is_reported_not_ignored() -> None:
    [problem] = problems_of(VALID.replace("primary_key: [id]", "primary_keys: [id]"))
    assert problem.startswith("stores[app].collections[users].primary_keys: unknown key")


def test_unsearchable_collection_needs_a_reason() -> None:
    text = VALID.replace("- {name: user_id, references: users.id}", "- {name: user_id}").replace(
        "- {name: id, identifies: order_id}", "- {name: id}"
    )
    [problem] = problems_of(text)
    assert "collections[orders]" in problem and "not_searched_reason" in problem


def test_key_pattern_kind_must_be_identified_somewhere() -> None:
    [problem] = problems_of(VALID.replace("session:{account_id}", "session:{visitor_id}"))
    assert "'visitor_id'" in problem


def test_missing_environment_variable_is_named() -> None:
    [problem] = problems_of(VALID.replace("${APP_URL:-sqlite://}", "${APP_URL}"))
    assert "APP_URL" in problem and "stores[app].url" in problem


def test_several_mistakes_are_reported_together() -> None:
    text = VALID.replace("category: F", "category: Z").replace("kind: redis", "kind: mongo")
    assert len(problems_of(text)) == 2


def test_not_yaml_and_missing_file(tmp_path: Path) -> None:
    assert "not valid YAML" in problems_of("stores: [")[0]
    with pytest.raises(DataMapError, match="cannot read the file"):
        load_datamap(tmp_path / "absent.yaml")


def test_follow_false_needs_an_identifier_and_stops_the_walk_there() -> None:
    [problem] = problems_of(VALID.replace("{name: ip, category: F}", "{name: ip, category: F, follow: false}"))
    assert "follow: false" in problem
    from services.common.stores.base import FoundRecord
    from services.common.stores.walk import identifiers_in

    datamap = parse_datamap(VALID.replace("{name: email, identifies: email,", "{name: email, identifies: email, "
                                          "follow: false,"), env={})  # fmt: skip
    app = datamap.store("app")
    assert app is not None
    found = identifiers_in(datamap, app, [FoundRecord("app", "users", "users:1", {"id": 7, "email": "a@b.example"})])
    assert found == {"account_id": frozenset({"7"})}
