"""The data-flow registry: a valid registry loads; a sale or sharing flow without the opt-out honoured, without its
notices, or a flow whose recipient has no contract (or a contract missing required terms) is refused, saying why."""

from __future__ import annotations

import pytest

from services.common.datamap import DataMapError, parse_datamap
from services.common.flows.vocabulary import SERVICE_PROVIDER_CLAUSES, THIRD_PARTY_CLAUSES

SP = "[" + ", ".join(SERVICE_PROVIDER_CLAUSES) + "]"
TP = "[" + ", ".join(THIRD_PARTY_CLAUSES) + "]"


def company(flows: str, notices: str = "notices: {opt_out_link: https://shop.example/choices}",
            coop_contract: str = f"contract: {{signed_on: 2025-01-01, clauses: {TP}}}",
            mailer_contract: str = f"contract: {{signed_on: 2024-01-01, clauses: {SP}}}") -> str:  # fmt: skip
    return f"""
business: Acme Outdoor Co.
{notices}
recipients:
  - {{name: mailer, role: service_provider, category: email delivery, {mailer_contract}}}
  - {{name: coop, role: third_party, category: marketing co-op, {coop_contract}}}
stores:
  - name: app
    kind: sql
    url: sqlite://
    collections:
      - name: users
        fields:
          - {{name: id, identifies: account_id, category: A}}
          - {{name: email, identifies: email, category: A}}
          - {{name: zip, category: A}}
          - {{name: diagnosis, category: L, sensitive: health}}
          - {{name: internal_note}}
flows:
{flows}
"""


COOP = """  - name: coop-export
    recipient: coop
    relation: sale
    channel: server_export
    purpose: joint promotions
    fields: [app.users.email, app.users.zip]
    honours_opt_out: true
    notice: https://shop.example/privacy#sale
"""
MAILER = """  - {name: mailer-sync, recipient: mailer, relation: service_provider, channel: server_api,
     purpose: newsletter, fields: [app.users.email]}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(DataMapError) as caught:
        parse_datamap(text, "company.yaml")
    return caught.value.problems


def test_a_registry_with_contracts_and_notices_loads() -> None:
    datamap = parse_datamap(company(COOP + MAILER))
    flow = datamap.flow("coop-export")
    assert flow is not None and flow.relation == "sale" and flow.needs_opt_out_gate
    assert datamap.flow("mailer-sync") is not None and not datamap.flow("mailer-sync").needs_opt_out_gate  # type: ignore[union-attr]


def test_a_sale_that_does_not_honour_the_opt_out_is_refused_with_the_section() -> None:
    found = problems(company(COOP.replace("honours_opt_out: true", "honours_opt_out: false")))
    assert any("flows[coop-export]" in p and "honour the consumer's opt-out" in p and "§1798.120" in p for p in found)


def test_a_sale_without_a_notice_or_an_opt_out_link_is_refused() -> None:
    found = problems(company(COOP.replace("    notice: https://shop.example/privacy#sale\n", ""), notices=""))
    assert any("flows[coop-export].notice" in p and "§7012" in p for p in found)
    assert any("notices.opt_out_link" in p and "§7013" in p for p in found)


def test_a_service_provider_flow_without_a_contract_is_refused() -> None:
    found = problems(company(MAILER, mailer_contract=""))
    assert found == ["flows[mailer-sync]: recipient 'mailer' has no contract on file; a service_provider needs a "
                     "written contract with the terms of §7051 (recipients[mailer].contract)"]  # fmt: skip


def test_a_contract_missing_required_terms_names_them() -> None:
    clauses = "[limited_purposes, ccpa_compliance]"
    found = problems(company(COOP, coop_contract=f"contract: {{signed_on: 2025-01-01, clauses: {clauses}}}"))
    assert any("right_to_monitor, right_to_remediate, notice_of_inability" in p and "§7053" in p for p in found)


def test_a_sale_to_a_third_party_without_any_contract_is_refused() -> None:
    assert any("§7053" in p for p in problems(company(COOP, coop_contract="")))


def test_the_relation_must_fit_the_recipients_role() -> None:
    found = problems(company(MAILER.replace("relation: service_provider", "relation: sale")
                             .replace("fields: [app.users.email]}", "fields: [app.users.email], honours_opt_out: true,"
                                      " notice: https://x.example/p}")))  # fmt: skip
    assert any("a sale flow goes to a third_party, but recipient 'mailer' is a service_provider" in p for p in found)


def test_unknown_fields_clauses_and_purposes_are_named() -> None:
    bad = COOP.replace("app.users.zip", "app.users.shoe_size") + "    permitted_purpose: marketing\n"
    found = problems(company(bad))
    assert any("permitted_purpose" in p and "§7027(m)" in p for p in found)
    found = problems(company(COOP.replace("app.users.zip", "app.users.shoe_size")))
    assert any("'app.users.shoe_size' names no field" in p for p in found)
    found = problems(company(COOP.replace("app.users.zip", "app.users.internal_note")))
    assert any("not personal information" in p for p in found)
    found = problems(company(COOP, coop_contract="contract: {signed_on: 2025-01-01, clauses: [pinky_swear]}"))
    assert any("unknown contract clause(s) 'pinky_swear'" in p for p in found)


def test_a_browser_tag_needs_its_tag_and_a_sale_of_sensitive_pi_is_no_permitted_purpose() -> None:
    tag = COOP.replace("channel: server_export", "channel: browser_tag")
    assert any("browser_tag flow needs `tag`" in p for p in problems(company(tag)))
    sensitive = COOP.replace("app.users.zip", "app.users.diagnosis") + "    permitted_purpose: perform_services\n"
    assert any("not a §7027(m) permitted purpose" in p for p in problems(company(sensitive)))


def test_collections_default_to_consumers_and_name_other_subject_types() -> None:
    datamap = parse_datamap(company(MAILER))
    assert datamap.stores[0].collections[0].subject_types == ("consumer",)
    text = company(MAILER).replace(
        "      - name: users\n", "      - name: users\n        subject_types: [job_applicant]\n"
    )
    assert parse_datamap(text).stores[0].collections[0].subject_types == ("job_applicant",)
    found = problems(
        company(MAILER).replace("      - name: users\n", "      - name: users\n        subject_types: [pets]\n")
    )
    assert any("subject_types" in p for p in found)
