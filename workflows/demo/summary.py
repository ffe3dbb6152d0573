"""The demo's summary: counts per final state, total paid, the batch and bank files written, the
audit verification, the emails delivered, and the paths the scenarios took (which reached what)."""
from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from workflows import audit
from workflows.app import App
from workflows.db.models import Application, Claim, Exchange, Organisation
from workflows.db.process_models import AuditEvent, HumanTask, OutboxMessage, PaymentBatch, ProcessInstance
from workflows.demo.data import BRUSSELS
from workflows.services.doctor import stuck_instances

NON_EU_ELIGIBLE = {"NO", "IS", "UA", "RS", "TR"}
NON_LATIN = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")  # Greek and Cyrillic letters


def _files(app: App, uow: Any) -> list[str]:
    batches = uow.session.execute(select(PaymentBatch.file_path, PaymentBatch.summary_path)
                                  .order_by(PaymentBatch.id)).all()
    paths = [p for row in batches for p in row if p]
    bank = Path(app.settings.files_dir).resolve() / "bank"
    return paths + sorted(str(p) for p in bank.glob("*.xml"))


def _reason_codes(uow: Any) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for app_id, decision in uow.session.execute(select(Application.id, Application.eligibility).where(
            Application.role == "visitor")):
        out[app_id] = {r.get("code") for r in (decision or {}).get("reasons", [])}
    return out


def _actions(uow: Any, *names: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {n: set() for n in names}
    for action, subject in uow.session.execute(select(AuditEvent.action, AuditEvent.subject).where(
            AuditEvent.action.in_(names))):
        found[action].add(subject or "")
    return found


def _refused_overrides(uow: Any, code: str) -> list[str]:
    """The exchanges whose officer's override of a proposal was refused with `code`."""
    refs = []
    for (after,) in uow.session.execute(select(AuditEvent.data_after).where(
            AuditEvent.action == "match_override_refused").order_by(AuditEvent.id)):
        if code in {r.get("code") for r in (after or {}).get("reasons", [])}:
            refs.append(f"EX-{int(after['visitor_application_id']):06d}")
    return refs


def _in_working_hours(uow: Any) -> bool:
    for (at,) in uow.session.execute(select(HumanTask.completed_at).where(HumanTask.status == "completed")):
        local = at.astimezone(BRUSSELS)
        if local.weekday() > 4 or not time(9, 0) <= local.time() <= time(17, 30):
            return False
    return True


def paths(uow: Any, scenarios: dict[str, Any]) -> dict[str, Any]:
    """Which scenario reached which final state, and whether each path the demo shows was shown."""
    exchanges = list(uow.session.execute(select(Exchange.ref, Exchange.status, Exchange.visitor_application_id,
                                                Exchange.id)))
    by_kind: dict[str, dict[str, str]] = {}
    for ref, status, _, _ in exchanges:
        by_kind.setdefault(scenarios[ref].kind if ref in scenarios else "normal", {})[ref] = status
    codes = _reason_codes(uow)
    halved = {ref for ref, computation in uow.session.execute(select(Exchange.ref, Claim.computation).join(
        Claim, Claim.exchange_id == Exchange.id).where(Claim.status == "paid"))
        if "HALVED_SHORT_DISTANCE" in (computation or {}).get("reasons", [])}
    acts = _actions(uow, "override_approved", "budget_exhausted", "budget_committed", "call_budget_raised",
                    "match_override_refused")
    countries = {c for (c,) in uow.session.execute(select(Organisation.country).join(
        Application, Application.organisation_id == Organisation.id).where(Application.status != "ineligible"))}
    names = sorted({n for (n,) in uow.session.execute(select(Organisation.legal_name).join(
        Application, Application.organisation_id == Organisation.id)) if NON_LATIN.search(n)})
    closed = {ref for ref, status, _, _ in exchanges if status == "closed"}
    shown = {
        "short_distance_halving": sorted(halved),
        "grant_override_approved": sorted(acts["override_approved"] & closed),
        "budget_waited_then_committed": sorted(acts["budget_exhausted"] & acts["budget_committed"]),
        "call_budget_raised": sorted(acts["call_budget_raised"]),
        "not_matched": sorted(ref for ref, status, _, _ in exchanges if status == "not_matched"),
        "country_refused": sorted(ref for ref, _, a, _ in exchanges if "COUNTRY" in codes.get(a, ())),
        "already_visited_refused": sorted(ref for ref, _, a, _ in exchanges if "ALREADY_VISITED" in codes.get(a, ())),
        "same_country_override_refused": _refused_overrides(uow, "SAME_COUNTRY"),
        "eligible_non_eu_countries": sorted(countries & NON_EU_ELIGIBLE),
        "greek_and_cyrillic_names": names,
        "people_acted_in_working_hours": _in_working_hours(uow),
    }
    return {"scenarios": by_kind, "shown": shown}


def summary(app: App, demo: Any) -> dict[str, Any]:
    with app.uow() as uow:
        states = dict(uow.session.execute(select(Exchange.status, func.count()).group_by(Exchange.status)).all())
        paid = uow.session.scalar(select(func.coalesce(func.sum(Claim.amount), 0)).where(Claim.status == "paid"))
        instances = dict(uow.session.execute(select(ProcessInstance.status, func.count())
                                             .group_by(ProcessInstance.status)).all())
        mail = dict(uow.session.execute(select(OutboxMessage.status, func.count())
                                        .group_by(OutboxMessage.status)).all())
        files = _files(app, uow)
        return {
            "seed": demo.seed, "size": demo.size,
            "exchanges_by_state": states, "exchanges": sum(states.values()),
            "total_paid_eur": f"{Decimal(paid or 0):.2f}", "instances_by_status": instances,
            "emails_queued": sum(mail.values()), "emails_delivered": mail.get("sent", 0),
            "mail_dir": demo.mail.folder if demo.mail is not None else None,
            "files_written": files, "batch_files": [f for f in files if "/payments/" in f.replace("\\", "/")],
            "simulated_until": uow.now().isoformat(), "audit": audit.verify(uow.session).to_dict(),
            "stuck_instances": stuck_instances(uow)["stuck"],
            "paths": paths(uow, demo.scenarios),
        }
