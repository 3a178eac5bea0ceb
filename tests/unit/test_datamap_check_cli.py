"""`ccpa datamap check FILE`: a valid data map prints its flows (recipient, relation, channel, opt-out, contract and
notice) and exits 0; DoorDash's sale with no notice or opt-out link and Honda's ad-tech vendor without a CCPA
contract fail with the flow and the section named; an unset ${VAR} is a problem, not a traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from devtools.demo.generator import DATAMAP_PATH
from services.cli import app
from services.common.flows.vocabulary import SERVICE_PROVIDER_CLAUSES, THIRD_PARTY_CLAUSES

SP = "[" + ", ".join(SERVICE_PROVIDER_CLAUSES) + "]"
TP = "[" + ", ".join(THIRD_PARTY_CLAUSES) + "]"
NOTICES = "notices: {privacy_policy: https://shop.example/privacy, opt_out_link: https://shop.example/choices}"
SALE = """  - {name: coop-export, recipient: coop, relation: sale, channel: server_export, purpose: joint promotions,
     fields: [app.users.email], honours_opt_out: true, notice: https://shop.example/privacy#sale}
"""
ADTECH = """  - {name: retarget-sync, recipient: retargetly, relation: service_provider, channel: server_api,
     purpose: advertising measurement, fields: [app.users.email]}
"""


def company(flows: str, notices: str = NOTICES, adtech_contract: str = f", contract: {{signed_on: 2024-06-01, "
            f"reference: DPA-77, clauses: {SP}}}") -> str:  # fmt: skip
    return f"""
business: Acme Motors
{notices}
recipients:
  - {{name: coop, role: third_party, category: marketing co-op, contract: {{signed_on: 2025-03-01, clauses: {TP}}}}}
  - {{name: retargetly, role: service_provider, category: ad-tech vendor{adtech_contract}}}
stores:
  - name: app
    kind: sql
    url: ${{APP_DB_URL}}
    collections:
      - name: users
        fields:
          - {{name: id, identifies: account_id, category: A}}
          - {{name: email, identifies: email, category: A}}
flows:
{flows}
"""


def check(tmp_path: Path, text: str, *args: str, env: str = "APP_DB_URL=sqlite://\n") -> tuple[int, str]:
    (tmp_path / "map.yaml").write_text(text)
    (tmp_path / "map.env").write_text(env)
    outcome = CliRunner().invoke(app, ["datamap", "check", str(tmp_path / "map.yaml"),
                                       "--env-file", str(tmp_path / "map.env"), *args])  # fmt: skip
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), outcome.exception
    return outcome.exit_code, outcome.output


def test_a_valid_map_prints_each_flow_with_its_contract_and_notice(tmp_path: Path) -> None:
    code, output = check(tmp_path, company(SALE + ADTECH), "--width", "240")
    assert code == 0, output
    [sale] = [line for line in output.splitlines() if "coop-export" in line]
    assert all(cell in sale for cell in ("coop", "sale", "server_export", "yes", "signed 2025-03-01",
                                         "https://shop.example/privacy#sale"))  # fmt: skip
    [adtech] = [line for line in output.splitlines() if "retarget-sync" in line]
    assert "not a sale or sharing" in adtech and "signed 2024-06-01, DPA-77" in adtech
    assert "the data map is valid; 2 flow(s), 1 sold or shared" in " ".join(output.split())


def test_piped_the_flows_are_tab_separated_lines(tmp_path: Path) -> None:
    code, output = check(tmp_path, company(SALE))
    assert code == 0
    assert "Flow\tRecipient\tRelation\tChannel\tOpt-out honoured\tContract on file\tNotice" in output
    assert "coop-export\tcoop\tsale\tserver_export\tyes\tsigned 2025-03-01\thttps://shop.example/privacy#sale" in output


def test_a_sale_with_no_notice_and_no_opt_out_link_fails_naming_the_flow(tmp_path: Path) -> None:
    """DoorDash 2024: customer data went to a marketing co-op with no notice and no way to opt out."""
    code, output = check(tmp_path, company(SALE.replace(", notice: https://shop.example/privacy#sale", ""),
                                           notices=""))  # fmt: skip
    assert code == 1
    problems = [line for line in output.splitlines() if line.startswith("  - ")]
    assert any("flows[coop-export].notice" in line and "§7012" in line for line in problems)
    assert any("flows[coop-export]" in line and "opt_out_link" in line and "§7013" in line for line in problems)
    assert "Traceback" not in output and "Data flows of" not in output


def test_a_service_provider_flow_to_an_ad_tech_vendor_without_a_contract_fails(tmp_path: Path) -> None:
    """Honda 2025: no contracts with the CCPA's terms with the ad-tech vendors it disclosed data to."""
    code, output = check(tmp_path, company(ADTECH, adtech_contract=""))
    assert code == 1
    assert "flows[retarget-sync]: recipient 'retargetly' has no contract on file" in output
    assert "§7051" in output and "recipients[retargetly].contract" in output


def test_an_unset_variable_is_reported_not_a_traceback(tmp_path: Path) -> None:
    code, output = check(tmp_path, company(SALE), env="OTHER=1\n")
    assert code == 1
    assert "stores[app].url: environment variable APP_DB_URL is not set" in output
    assert "Traceback" not in output


def test_a_missing_env_file_is_one_line_and_exit_two(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text(company(SALE))
    outcome = CliRunner().invoke(app, ["datamap", "check", str(tmp_path / "map.yaml"), "--env-file",
                                       str(tmp_path / "absent.env")])  # fmt: skip
    assert outcome.exit_code == 2
    assert outcome.output.strip().endswith("absent.env: the --env-file does not exist")
    assert len(outcome.output.strip().splitlines()) == 1


def test_the_demo_company_map_is_valid(tmp_path: Path) -> None:
    env = "DEMO_APP_DB_URL=sqlite://\nDEMO_MARKETING_DB_URL=sqlite://\nDEMO_REDIS_URL=redis://x/0\nDEMO_LOG_DIR=/l\n"
    code, output = check(tmp_path, DATAMAP_PATH.read_text(), env=env)
    assert code == 0, output
    assert all(f"{name}\t" in output for name in ("adreach-pixel", "adreach-events", "coop-export", "mailer-sync"))
