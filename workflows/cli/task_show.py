"""`cxp task show ID --user U [--json]`: one task, what the person deciding needs to see, and whether
they may act on it now (`workflows.services.task_detail`). Nothing is written."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from workflows.cli.common import app_for, handle_errors
from workflows.cli.errors import echo_json

if TYPE_CHECKING:
    from workflows.services.task_detail import TaskDetail

DbOption = typer.Option(None, "--db", help="database URL (default: CXP_DATABASE_URL or sqlite:///var/cxp.db)")
JsonOption = typer.Option(False, "--json", help="print one JSON document")


@handle_errors
def task_show(task_id: int, user: str = typer.Option(..., "--user", help="who looks (their partnership's "
                                                     "tasks or their organisation's only)"),
              db: str | None = DbOption, json_out: bool = JsonOption) -> None:
    """One task with its form's fields, the context of the decision (working days, grant, match,
    eligibility, extension...) and whether --user may act on it now."""
    from workflows.services.access import principal_by_name
    from workflows.services.task_detail import task_detail

    cxp = app_for(db)
    detail = task_detail(cxp, principal_by_name(cxp, user), task_id)
    if json_out:
        echo_json(detail.model_dump(mode="json"))
        return
    from rich.console import Console

    console = Console(highlight=False)
    for line in summary_lines(detail, cxp.settings.timezone):
        console.print(line, markup=False, soft_wrap=True)


def summary_lines(detail: TaskDetail, timezone: str = "Europe/Brussels") -> list[str]:
    """The task as lines a person reads at a terminal (times in the programme's time zone)."""
    from zoneinfo import ZoneInfo

    d = detail
    due = f", due {d.due_at.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M} ({timezone})" if d.due_at else ""
    lines = [f"task {d.id}: {d.name} ({d.task}) on {d.subject or '-'}, {d.process} instance {d.instance_id}",
             f"lane {d.lane}, {d.status}{due}, assignee {d.assignee or 'none'}",
             "you may act on it now" if d.can_act else f"you may not act on it now: {d.why_not}"]
    if d.context is not None:
        lines += _CONTEXT_LINES[d.context.kind](d.context.model_dump(mode="json"))
    if d.context_problem:
        lines.append(f"context not available: {d.context_problem}")
    fields = d.form_schema.get("properties", {})
    required = set(d.form_schema.get("required", []))
    lines.append(f"form: {d.form_schema.get('title', d.task)}")
    for name, prop in fields.items():
        default = f" [known: {d.form_defaults[name]}]" if name in d.form_defaults else ""
        lines.append(f"  {name}{' (required)' if name in required else ''}: {prop.get('title', name)}"
                     f" - {prop.get('description', '')}{default}")
    return lines


def _org(o: dict[str, Any] | None) -> str:
    if not o:
        return "-"
    return f"{o['legal_name']} ({o['org_type']}, {o['city']}, {o['country']}; sectors {', '.join(o['sectors'])})"


def _grant(g: dict[str, Any]) -> list[str]:
    distance = f", {g['distance_km']} km" if g.get("distance_km") is not None else ""
    lines = [f"  grant: EUR {g['amount']} ({', '.join(g['reasons'])}; rule set {g['rule_set_version']}{distance})"]
    return lines + [f"    {m}" for m in g["messages"]]


def _evidence(c: dict[str, Any]) -> list[str]:
    w = c["working_days"]
    lines = [f"exchange {c['exchange']} ({c['format']}): {_org(c['visitor'])} at {_org(c['host'])}",
             f"  working days: {w['working_days']} in {w['country']}"
             f"{'-' + w['subdivision'] if w['subdivision'] else ''}"
             f" from {w['arrival']} to {w['departure']}",
             f"    counted: {', '.join(w['counted']) or 'none'}"]
    lines += [f"    excluded {e['day']}: {e['reason']}" for e in w["excluded"]] + [f"    note: {n}" for n in w["notes"]]
    lines += _grant(c["grant"])
    lines += [f"  evidence: {i['name']}: {'present' if i['present'] else 'MISSING'}" for i in c["checklist"]]
    return lines + [f"    document {x['kind']}: {x['filename']} ({x['size']} bytes)" for x in c["documents"]]


def _payment(c: dict[str, Any]) -> list[str]:
    lines = [f"claim {c['claim_id']} of {c['exchange']}: EUR {c['amount']}, {c['claim_status']}"
             + (f" ({c['status_reason']})" if c["status_reason"] else "")]
    lines += _grant(c["computation"])
    if c["override"]:
        o = c["override"]
        lines.append(f"  override: EUR {o['amount']} proposed by {o['proposed_by']}: {o['reason']}")
    lines.append(f"  evidence validated by {c['validated_by'] or '-'} at {c['validated_at'] or '-'}")
    bank = c["bank"]
    lines.append(f"  pay to {bank['holder']}, IBAN {bank['iban_masked']}"
                 + (f", BIC {bank['bic']}" if bank["bic"] else ""))
    four = c["four_eyes"]
    return lines + ["  R-4EYES: you may approve" if four["may_approve"] else f"  R-4EYES: {four['why_not']}"]


def _extension(c: dict[str, Any]) -> list[str]:
    lines = [f"exchange {c['exchange']}: stay {c['arrival']} to {c['departure']} "
             f"({c['working_days_now']} working days)",
             f"  asked: depart {c['requested_departure'] or '-'} (by {c['requested_by'] or '-'}): {c['reason'] or '-'}",
             f"  host consent: {'-' if c['host_consent'] is None else 'yes' if c['host_consent'] else 'no'}",
             f"  new stay: {c['new_total_days']} days, {c['new_working_days']} working days; latest departure "
             f"{c['latest_departure']}; R-DUR {'ok' if c['fits_duration'] else 'NOT ok'}"]
    return lines + [f"    {r['code']}: {r['message']}" for r in c["duration_reasons"]]


def _proposal(p: dict[str, Any]) -> list[str]:
    return [f"  proposal {p['id']} ({p['exchange'] or '-'}), score {p['score']}, {p['distance_km']} km",
            f"    visitor {_org(p['visitor'])}, wishes {p['visitor_dates'][0]} to {p['visitor_dates'][1]}",
            f"    host {_org(p['host'])}, available {p['host_dates'][0]} to {p['host_dates'][1]}"]


def _match_review(c: dict[str, Any]) -> list[str]:
    lines = [f"call {c['call']}, matching round {c['round'] or '-'}: {len(c['proposals'])} proposal(s)"]
    return lines + [line for p in c["proposals"] for line in _proposal(p)]


def _eligibility(c: dict[str, Any]) -> list[str]:
    verdict = "not judged yet" if c["ok"] is None else "eligible" if c["ok"] else "NOT eligible"
    lines = [f"application {c['application_id']} ({c['role']}, {c['format']}) of {_org(c['organisation'])}",
             f"  R-ELIG: {verdict}; dates {c['dates'][0]} to {c['dates'][1]}"]
    return lines + [f"    {r['code']}: {r['message']}" for r in c["reasons"]]


def _visit(c: dict[str, Any]) -> list[str]:
    lines = [f"exchange {c['exchange']} ({c['format']}, {c['status']}): {_org(c['visitor'])}",
             f"  host: {_org(c['host'])}", f"  stay: {c['arrival'] or '-'} to {c['departure'] or '-'}",
             f"  asked: {c['asked']}"]
    if c["proposal"]:
        lines += _proposal(c["proposal"])
    return lines + [f"  {n}" for n in c["notes"]]


def _call(c: dict[str, Any]) -> list[str]:
    return [f"call {c['code']}: {c['title']}, {c['opens_on']} to {c['closes_on']}, budget EUR {c['budget']}",
            f"  formats {', '.join(c['formats'])}; partnerships {', '.join(c['partnerships'])}"] + [
            f"  event: {e}" for e in c["events"]]


_CONTEXT_LINES = {"evidence_validation": _evidence, "payment_approval": _payment, "extension": _extension,
                  "match_review": _match_review, "eligibility": _eligibility, "visit": _visit, "call": _call}
