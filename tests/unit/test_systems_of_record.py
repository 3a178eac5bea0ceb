"""Systems of record live in the data map (`opt_out_flags`): validated with errors naming the entry, and the retired
CCPA_SYSTEMS_OF_RECORD setting makes optout refuse to start with a message saying where they went."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.common.datamap import DataMapError, load_datamap, parse_datamap
from services.common.datamap.loader import ENV_REFERENCE
from services.common.serve import load_settings
from services.optout.settings import SYSTEMS_OF_RECORD_MOVED, OptoutSettings
from tests.datamaps import datamap_yaml, sql_store

ROOT = Path(__file__).resolve().parents[2]
CRM = datamap_yaml(
    sql_store(
        "sqlite://",
        """\
      - name: customers
        primary_key: [id]
        opt_out_flags: {sale_opt_out: do_not_sell, share_opt_out: do_not_share}
        fields:
          - {name: id, identifies: account_id, category: A}
          - {name: email, identifies: email, category: A}
          - {name: do_not_sell}
          - {name: do_not_share}
      - name: orders
        fields: [{name: id, identifies: order_id}]
""",
        name="crm",
    )
)
SECRET_URL = "postgresql://crm:hunter2-secret@db.internal/crm"


def problems_of(text: str) -> list[str]:
    with pytest.raises(DataMapError) as caught:
        parse_datamap(text, "company.yaml", {})
    return caught.value.problems


def test_the_collections_with_opt_out_flags_are_the_systems_of_record() -> None:
    datamap = parse_datamap(CRM, env={})
    [(store, collection)] = datamap.systems_of_record()
    assert (store.name, collection.name) == ("crm", "customers")
    assert collection.opt_out_flags is not None
    assert collection.opt_out_flags.columns() == {"sale_opt_out": "do_not_sell", "share_opt_out": "do_not_share"}


def test_a_flag_column_must_be_a_field_of_the_table() -> None:
    [problem] = problems_of(CRM.replace("sale_opt_out: do_not_sell", "sale_opt_out: dont_sell"))
    assert problem == ("stores[crm].collections[customers].opt_out_flags.sale_opt_out: 'dont_sell' is not one of its "
                       "fields (id, email, do_not_sell, do_not_share)")  # fmt: skip


def test_an_unknown_flag_and_an_empty_set_of_flags_are_named() -> None:
    [unknown] = problems_of(CRM.replace("share_opt_out: do_not_share", "share_out: do_not_share"))
    assert unknown.startswith("stores[crm].collections[customers].opt_out_flags.share_out: unknown key")
    [empty] = problems_of(CRM.replace("{sale_opt_out: do_not_sell, share_opt_out: do_not_share}", "{}"))
    assert empty.startswith("stores[crm].collections[customers].opt_out_flags: name at least one column")


def test_a_system_of_record_needs_a_field_that_finds_the_consumer() -> None:
    text = CRM.replace("{name: id, identifies: account_id, category: A}", "{name: id, category: A}").replace(
        "{name: email, identifies: email, category: A}", "{name: email, category: A}"
    )
    problems = problems_of(text)
    assert "stores[crm].collections[customers].opt_out_flags: no field `identifies` a subject" in "\n".join(problems)


def test_only_sql_stores_hold_opt_out_flags() -> None:
    cache = """
  - name: cache
    kind: redis
    url: redis://127.0.0.1:6379/0
    collections:
      - {name: sessions, key_pattern: "session:{account_id}", opt_out_flags: {sale_opt_out: dns},
         fields: [{name: dns}]}
"""
    [problem] = problems_of(CRM + cache)
    assert problem.startswith("stores[cache]: ") and "`opt_out_flags` applies to sql stores only" in problem


@pytest.mark.parametrize("path", ["devtools/demo/datamap.yaml", "devtools/demo/crm-datamap.yaml"])
def test_the_demo_maps_keep_the_systems_of_record_the_setting_gave(path: str) -> None:
    names = {name for name, _default in ENV_REFERENCE.findall((ROOT / path).read_text())}
    datamap = load_datamap(ROOT / path, env=dict.fromkeys(names, "sqlite://"))
    [(_, customers)] = datamap.systems_of_record()
    assert customers.name == "customers" and customers.opt_out_flags is not None
    assert customers.opt_out_flags.columns() == {
        "sale_opt_out": "do_not_sell", "share_opt_out": "do_not_share", "limit_sensitive": "limit_sensitive"
    }  # fmt: skip
    # The old setting matched by email and account_id: the fields that identify those kinds.
    kinds = {kind for f in customers.fields if (kind := f.identifies)}
    assert kinds == {"email", "account_id"}


def test_optout_refuses_the_retired_setting_and_says_where_it_went(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCPA_SYSTEMS_OF_RECORD", f'[{{"name": "crm", "url": "{SECRET_URL}"}}]')
    with pytest.raises(ValidationError) as caught:
        OptoutSettings(subject_key_secret="s" * 44, master_keys="{}", active_master_key="m1")
    assert SYSTEMS_OF_RECORD_MOVED in str(caught.value)
    with pytest.raises(SystemExit) as refused:
        load_settings("optout")
    message = str(refused.value)
    assert message.startswith("optout cannot start; its settings are refused:")
    assert "CCPA_SYSTEMS_OF_RECORD is no longer read: the systems of record moved into the data map" in message
    assert "opt_out_flags" in message and "docs/datamap.md" in message
    assert "hunter2" not in message and SECRET_URL not in message


def test_an_empty_retired_setting_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCPA_SYSTEMS_OF_RECORD", "[]")
    with pytest.raises(SystemExit, match="CCPA_SYSTEMS_OF_RECORD is no longer read"):
        load_settings("optout")


def test_the_optout_process_refuses_to_start_without_a_traceback() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CCPA_")}
    env["CCPA_SYSTEMS_OF_RECORD"] = f'[{{"name": "crm", "url": "{SECRET_URL}"}}]'
    started = subprocess.run([sys.executable, "-m", "services.optout"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60, check=False)  # fmt: skip
    assert started.returncode == 1
    assert "CCPA_SYSTEMS_OF_RECORD is no longer read" in started.stderr
    assert "Traceback" not in started.stderr and "hunter2" not in started.stderr + started.stdout
