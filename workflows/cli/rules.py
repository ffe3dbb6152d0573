"""`cxp rules ...`: the programme rules from the command line (SPEC §10).

    cxp rules working-days --country CC [--subdivision S] --arrive DATE --depart DATE
                           [--attended D,D,...] [--json]
    cxp rules grant --host-country CC --working-days N --distance-km D [--rule-set V] [--json]

Options are read as text and checked here, so that every bad value gets one sentence naming the
option (stderr, exit 2, no traceback). The `rules` package is imported inside the commands.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import typer

from workflows.cli.errors import CliError, echo_json

if TYPE_CHECKING:
    from rules.working_days import WorkingDays

app = typer.Typer(no_args_is_help=True)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date_option(option: str, text: str) -> date:
    value = text.strip()
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option}: {text!r} is not a date (expected YYYY-MM-DD)") from None


def _dates(option: str, text: str) -> list[date]:
    parts = [part for part in text.split(",") if part.strip()]
    return [parse_date_option(option, part) for part in parts]


def _whole_number(option: str, text: str) -> int:
    value = text.strip()
    if not re.fullmatch(r"[+-]?\d+", value):
        raise CliError(f"{option}: {text!r} is not a whole number")
    number = int(value)
    if number < 0:
        raise CliError(f"{option}: must not be negative (got {number})")
    return number


def _decimal(option: str, text: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise CliError(f"{option}: {text!r} is not a number") from None
    if not number.is_finite():
        raise CliError(f"{option}: {text!r} is not a finite number")
    if number < 0:
        raise CliError(f"{option}: must not be negative (got {number})")
    return number


def _rule_error(err: Exception, options: dict[str, str]) -> CliError:
    """A RuleInputError as a CLI error naming the option that carried the bad value."""
    field = getattr(err, "field", "")
    message = getattr(err, "message", str(err))
    option = options.get(field, options.get(field.split(".")[0], f"--{field.replace('_', '-')}"))
    return CliError(f"{option}: {message}")


@app.command("working-days")
def working_days(
    country: str = typer.Option(..., "--country", help="Host country, ISO 3166-1 alpha-2 (EL accepted)."),
    arrive: str = typer.Option(..., "--arrive", help="Arrival date, YYYY-MM-DD."),
    depart: str = typer.Option(..., "--depart", help="Departure date, YYYY-MM-DD."),
    subdivision: str | None = typer.Option(None, "--subdivision", help="ISO 3166-2 subdivision, e.g. BY."),
    attended: str | None = typer.Option(None, "--attended", help="Days the host certified, D,D,..."),
    rule_set: str | None = typer.Option(None, "--rule-set", help="Rule-set version for eligibility."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Count the working days of a stay at a host (travel days, weekends, holidays excluded)."""
    from rules.errors import RuleInputError
    from rules.ruleset import DEFAULT_VERSION, get_rule_set
    from rules.values import normalise_country
    from rules.working_days import count_working_days

    options = {"country": "--country", "subdivision": "--subdivision", "arrive": "--arrive",
               "depart": "--depart", "attended": "--attended", "rule_set": "--rule-set"}
    arrive_on, depart_on = parse_date_option("--arrive", arrive), parse_date_option("--depart", depart)
    attended_on = _dates("--attended", attended) if attended is not None else None
    try:
        rs = get_rule_set(rule_set or DEFAULT_VERSION)
        code = normalise_country("country", country)
        if code not in rs.eligible_countries:
            raise RuleInputError("country", f"{code} is not an eligible host country in rule set {rs.version}")
        result = count_working_days(code, arrive_on, depart_on, subdivision=subdivision, attended=attended_on)
    except RuleInputError as err:
        raise _rule_error(err, options) from None
    document = {**result.to_dict(), "arrive": arrive_on.isoformat(), "depart": depart_on.isoformat(),
                "rule_set": rs.version}
    if as_json:
        echo_json(document)
        return
    _print_days(result, arrive_on, depart_on)


def _print_days(result: WorkingDays, arrive: date, depart: date) -> None:
    from datetime import timedelta

    from rich.console import Console
    from rich.table import Table

    place = result.country + (f"-{result.subdivision}" if result.subdivision else "")
    table = Table(title=f"Stay at a host in {place}, {arrive} to {depart}")
    table.add_column("Date")
    table.add_column("Day")
    table.add_column("Counts")
    table.add_column("Reason")
    day = arrive
    while day <= depart:
        reason = result.excluded.get(day)
        table.add_row(day.isoformat(), day.strftime("%a"), "no" if reason else "yes", reason or "")
        day += timedelta(days=1)
    console = Console()
    console.print(table)
    console.print(f"Working days: {result.working_days}")
    for note in result.notes:
        console.print(f"Note: {note}")


@app.command("grant")
def grant(
    host_country: str = typer.Option(..., "--host-country", help="Host country, ISO 3166-1 alpha-2."),
    working_days: str = typer.Option(..., "--working-days", help="Counted working days."),
    distance_km: str = typer.Option(..., "--distance-km", help="Great-circle distance visitor-host, km."),
    rule_set: str | None = typer.Option(None, "--rule-set", help="Rule-set version (default: current)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Compute the lump-sum grant of a visit, with the reasons for the amount."""
    from rules.errors import RuleInputError
    from rules.grant import compute_grant
    from rules.ruleset import DEFAULT_VERSION, get_rule_set

    options = {"host_country": "--host-country", "working_days": "--working-days",
               "distance_km": "--distance-km", "rule_set": "--rule-set"}
    days = _whole_number("--working-days", working_days)
    km = _decimal("--distance-km", distance_km)
    try:
        rs = get_rule_set(rule_set or DEFAULT_VERSION)
        result = compute_grant(rs, host_country, days, km)
    except RuleInputError as err:
        raise _rule_error(err, options) from None
    document = {"amount_eur": f"{result.amount:.2f}", "reasons": list(result.reasons),
                "messages": list(result.messages), "model": result.model,
                "rule_set": result.rule_set_version, "inputs": result.to_dict()["inputs"]}
    if as_json:
        echo_json(document)
        return
    typer.echo(f"Grant: EUR {result.amount:.2f} (rule set {result.rule_set_version}, {result.model})")
    typer.echo(f"Reasons: {', '.join(result.reasons)}")
    for message in result.messages:
        typer.echo(f"  - {message}")
