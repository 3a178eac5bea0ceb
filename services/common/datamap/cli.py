"""`ccpa datamap check FILE`: validate a data map and list its flows, so a flow is checked before it is enabled
(DoorDash 2024: a co-op sale with no notice or opt-out; Honda 2025: no CCPA contracts with ad-tech vendors).

Exit codes: 0 valid (its flows are printed), 1 invalid (each problem printed), 2 the --env-file is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from dotenv import dotenv_values
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.common.datamap.flows import Flow
from services.common.datamap.loader import DataMapError, load_datamap
from services.common.datamap.model import DataMap
from services.common.flows.vocabulary import OPT_OUT_RELATIONS
from services.common.terminal import EnvFileOption, WidthOption, output_console

EXIT_INVALID = 1
EXIT_USAGE = 2
datamap_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="The data map: check it, with its flows, before they are enabled")  # fmt: skip


@datamap_app.command("check")
def datamap_check(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The data map (YAML) to check")],
    env_file: EnvFileOption = None,
    width: WidthOption = None,
) -> None:
    """Validate a data map: each problem (exit 1), or a table of its flows and the contracts and notices behind them."""
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    if env_file is not None and not env_file.is_file():
        errors.print(f"{escape(str(env_file))}: the --env-file does not exist")
        raise typer.Exit(EXIT_USAGE)
    try:
        datamap = load_datamap(file, _environment(env_file))
    except DataMapError as exc:
        errors.print(str(exc), markup=False)
        raise typer.Exit(EXIT_INVALID) from None
    console = output_console(width)
    console.print(flows_table(datamap))
    console.print(_summary(datamap), highlight=False, markup=False)


def flows_table(datamap: DataMap) -> Table:
    """One row per flow: to whom, as what, how, whether the opt-out stops it, the contract on file, the notice."""
    table = Table(title=f"Data flows of {escape(datamap.business)}", title_justify="left")
    for header in ("Flow", "Recipient", "Relation", "Channel", "Opt-out honoured", "Contract on file", "Notice"):
        table.add_column(header)
    for flow in datamap.flows:
        table.add_row(escape(flow.name), escape(flow.recipient), flow.relation.value, flow.channel.value,
                      _opt_out(flow), escape(_contract(datamap, flow)), escape(flow.notice or "-"))  # fmt: skip
    return table


def _opt_out(flow: Flow) -> str:
    if flow.relation not in OPT_OUT_RELATIONS:
        return "not a sale or sharing"
    return "yes" if flow.honours_opt_out else "no"


def _contract(datamap: DataMap, flow: Flow) -> str:
    recipient = datamap.recipient(flow.recipient)
    contract = recipient.contract if recipient else None
    if contract is None:
        return "none"
    reference = f", {contract.reference}" if contract.reference else ""
    return f"signed {contract.signed_on.isoformat()}{reference}"


def _summary(datamap: DataMap) -> str:
    if not datamap.flows:
        return f"{datamap.business}: the data map is valid; it registers no flows (docs/flows.md)."
    sold_or_shared = sum(1 for flow in datamap.flows if flow.relation in OPT_OUT_RELATIONS)
    uncontracted = [flow.name for flow in datamap.flows if _contract(datamap, flow) == "none"]
    contracts = (f"{len(uncontracted)} to a third party for a business purpose without a contract on file "
                 f"({', '.join(uncontracted)})" if uncontracted else "every recipient under contract")  # fmt: skip
    return (f"{datamap.business}: the data map is valid; {len(datamap.flows)} flow(s), {sold_or_shared} sold or "
            f"shared (each honours the opt-out and is disclosed in a notice), {contracts}.")  # fmt: skip


def _environment(env_file: Path | None) -> dict[str, str]:
    environment = dict(os.environ)
    if env_file is not None:
        environment.update({key: value for key, value in dotenv_values(env_file).items() if value is not None})
    return environment
