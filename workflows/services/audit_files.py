"""The auditors' use cases (SPEC §7): one exchange's audit file, and the audit sample.

Both only read: they record no audit event of their own, so exporting twice gives the same bytes.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from reports.history_text import describe
from reports.labels import label
from workflows import audit
from workflows.app import App
from workflows.db.base import must_get
from workflows.db.models import (
    Application,
    Call,
    Claim,
    ConflictDeclaration,
    Exchange,
    MatchProposal,
    Organisation,
)
from workflows.db.process_models import (
    AuditEvent,
    BankFileImport,
    HumanTask,
    PaymentBatch,
    PaymentLine,
    ProcessDefinition,
    ProcessInstance,
)
from workflows.engine import state_view
from workflows.services import ServiceError, access
from workflows.services.access import SYSTEM, Principal
from workflows.services.payment_files import sha256, write_atomically
from workflows.uow import UnitOfWork

DECISION_TASKS = ("assess_application", "provide_information", "review_extension", "validate_evidence",
                  "approve_payment", "verify_bank_details")


def _at(moment: Any) -> str:
    return moment.isoformat(" ", "seconds") if moment is not None else ""


def _events(uow: UnitOfWork, exchange: Exchange, instance_ids: list[int]) -> list[AuditEvent]:
    where = AuditEvent.subject == exchange.ref
    if instance_ids:
        where = or_(where, AuditEvent.instance_id.in_(instance_ids))
    return list(uow.session.scalars(select(AuditEvent).where(where).order_by(AuditEvent.id)))


def _hash_ok(keyed: audit.Keyed, e: AuditEvent) -> bool:
    """Whether the event's own hash matches its content: keyed (HMAC), or plain SHA-256 for an event of
    the global chain written before migration 0004 (the whole chain's check is `audit.verify`)."""
    values = {name: getattr(e, name) for name in audit.KEYED}
    return keyed.event(values) == e.hash or (e.chain == audit.GLOBAL and audit.plain_digest(values) == e.hash)


def _event_view(e: AuditEvent, keyed: audit.Keyed) -> dict[str, Any]:
    ok = _hash_ok(keyed, e)
    change = f"{e.data_before} → {e.data_after}" if e.data_before is not None else f"{e.data_after}"
    return {"id": e.id, "at": _at(e.occurred_at), "actor": e.actor, "role": e.actor_role, "action": e.action,
            "task": e.task, "change": change[:400], "summary": describe(e.action, label(e.task), e.data_before, e.data_after), "hash": e.hash, "prev_hash": e.prev_hash, "hash_ok": ok}


def _process(uow: UnitOfWork, instance: ProcessInstance | None) -> tuple[dict[str, Any], str]:
    from reports.bpmn_svg import diagram_svg

    if instance is None:
        return {"process_id": "", "version": "", "sha256": ""}, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
    definition = must_get(uow.session, ProcessDefinition, instance.definition_id)
    view = state_view.read(instance.state_json)
    done, active = view.completed, view.active
    return ({"process_id": definition.process_id, "version": definition.version, "sha256": definition.sha256,
             "completed": done, "active": active}, diagram_svg(definition.bpmn_xml, done, active))


def _payments(uow: UnitOfWork, claim: Claim | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if claim is None:
        return [], []
    rows = uow.session.execute(select(PaymentLine, PaymentBatch).join(PaymentBatch, PaymentBatch.id == PaymentLine.batch_id)
                               .where(PaymentLine.claim_id == claim.id).order_by(PaymentLine.id)).all()
    payments = [{"msg_id": b.msg_id, "pmt_inf_id": b.pmt_inf_id, "end_to_end_id": l.end_to_end_id,
                 "amount": f"{l.amount:.2f}", "execution_date": b.execution_date.isoformat(), "status": l.status,
                 "reason": l.reason_code and f"{l.reason_code} {l.reason_text or ''}".strip(),
                 "file_sha256": b.file_sha256, "released_at": _at(b.released_at)} for l, b in rows]
    msg_ids = sorted({b.msg_id for _, b in rows})
    imports: Sequence[BankFileImport] = uow.session.scalars(
        select(BankFileImport).where(BankFileImport.original_msg_id.in_(msg_ids)).order_by(BankFileImport.id)
    ).all() if msg_ids else []
    bank = [{"kind": f.kind, "message_id": f.message_id, "answers": f.original_msg_id, "sha256": f.sha256,
             "imported_at": _at(f.imported_at)} for f in imports]
    return payments, bank


def _approvals(events: list[AuditEvent]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        if e.action == "task_completed" and (e.task in DECISION_TASKS or (e.task or "").startswith("sign_")):
            form = (e.data_after or {}).get("form", {})
            out.append({"task": e.task, "actor": e.actor, "role": e.actor_role, "at": _at(e.occurred_at),
                        "decision": form.get("decision", "signed" if form.get("signed") else ""),
                        "comment": form.get("comment") or form.get("signatory_name") or ""})
    return out


def audit_file_data(uow: UnitOfWork, ref: str, principal: Principal = SYSTEM) -> dict[str, Any]:
    """Everything the audit file of an exchange the principal may see shows, read in one unit of work."""
    s = uow.session
    x = access.visible_exchange(uow, principal, ref)
    call, app_row = must_get(s, Call, x.call_id), must_get(s, Application, x.visitor_application_id)
    visitor = must_get(s, Organisation, x.visitor_org_id)
    host = must_get(s, Organisation, x.host_org_id) if x.host_org_id else None
    claim = s.scalars(select(Claim).where(Claim.exchange_id == x.id)).first()
    proposal = s.get(MatchProposal, x.proposal_id) if x.proposal_id else None
    instance = s.scalars(select(ProcessInstance).where(ProcessInstance.subject_type == "exchange",
                                                       ProcessInstance.subject_id == x.id)
                         .order_by(ProcessInstance.id.desc())).first()
    events = _events(uow, x, [instance.id] if instance else [])
    process, diagram = _process(uow, instance)
    payments, bank = _payments(uow, claim)
    wd = x.working_days or None
    eligibility = app_row.eligibility or {"ok": None, "reasons": []}
    return {
        "x": {"ref": x.ref, "status": x.status, "format": x.format, "call_code": call.code, "call_title": call.title},
        "application": {"organisation": visitor.legal_name, "legal_id": visitor.legal_id, "type": visitor.org_type,
                        "country": visitor.country, "submitted_at": _at(app_row.submitted_at),
                        "wished_dates": f"{app_row.date_from} to {app_row.date_to}",
                        "declaration_on_honour": app_row.declaration_given,
                        "audit_rights_accepted": app_row.audit_rights_accepted, "motivation": app_row.motivation},
        "eligibility": {"ok": eligibility.get("ok"), "reasons": eligibility.get("reasons", []),
                        "rule_set_version": (eligibility.get("inputs") or {}).get("rule_set_version", call.rule_set_version)},
        "match": {"host": host.legal_name, "host_country": host.country, "round": proposal.round if proposal else "",
                  "score": str(proposal.score) if proposal else "", "proposal_status": proposal.status if proposal else ""}
        if host else None,
        "commitment": {"arrival": x.arrival, "departure": x.departure, "agenda": (x.agenda or {}).get("agenda"),
                       "activities": [a.get("kind") for a in (x.agenda or {}).get("activities", [])],
                       "extensions": x.extensions or [],
                       "signatures": [{"task": a["task"], "actor": a["actor"], "signatory": a["comment"], "at": a["at"]}
                                      for a in _approvals(events) if a["task"].startswith("sign_")]} if x.agenda else None,
        "evidence": (x.evidence or {}).get("documents", []),
        "working_days": {**wd, "dates": sorted([(d, "counted") for d in wd.get("counted", [])]
                                               + list((wd.get("excluded") or {}).items()))} if wd else None,
        "grant": {**claim.computation, "amount": f"{claim.amount:.2f}", "override": claim.override,
                  "messages": claim.computation.get("messages", []), "inputs": claim.computation.get("inputs", {}),
                  "reasons": claim.computation.get("reasons", [])} if claim else None,
        "approvals": [a for a in _approvals(events) if not a["task"].startswith("sign_")],
        "payments": payments, "bank_files": bank, "process": process, "diagram": diagram,
        "chain": audit.verify(s).to_dict(), "events": [_event_view(e, uow.trail.keyed) for e in events],
        "events_ok": all(_hash_ok(uow.trail.keyed, e) for e in events),
    }


def evidence_entries(app: App, uow: UnitOfWork, ref: str) -> dict[str, bytes]:
    """The exchange's uploaded evidence files for its audit file: `<first 12 hex of the hash>-<name>`
    → the content read from the store (a file missing there is left out; SHA256SUMS then lacks it)."""
    from workflows.db.models import EvidenceFile
    from workflows.services.evidence_store import evidence_path

    exchange = uow.session.scalars(select(Exchange).where(Exchange.ref == ref)).one()
    entries: dict[str, bytes] = {}
    for row in uow.session.scalars(select(EvidenceFile).where(EvidenceFile.exchange_id == exchange.id)
                                   .order_by(EvidenceFile.id)):
        path = evidence_path(app, row.sha256)
        if path.is_file():
            safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in row.filename)
            entries[f"{row.sha256[:12]}-{safe}"] = path.read_bytes()
    return entries


def export_audit_file(app: App, ref: str, out_dir: str | Path, principal: Principal = SYSTEM) -> dict[str, Any]:
    """Write the audit file ZIP of an exchange the principal may see to `out_dir`; its path and SHA-256."""
    from reports.audit_file import audit_zip

    target = Path(out_dir).resolve()
    if target.exists() and not target.is_dir():
        raise ServiceError(f"--out: {target} is not a folder")
    with app.uow() as uow:
        data = audit_file_data(uow, ref, principal)
        evidence = evidence_entries(app, uow, data["x"]["ref"])
    name, content = audit_zip(data, evidence)
    path = target / name
    write_atomically(path, content)
    return {"exchange": ref, "zip": str(path), "sha256": sha256(content), "bytes": len(content),
            "entries": ["audit-file.json", "diagram.svg", "summary.html", "summary.pdf"]
            + ([f"evidence/{e}" for e in sorted(evidence)] + ["evidence/SHA256SUMS"] if evidence else []),
            "events": len(data["events"]), "chain_ok": data["chain"]["ok"]}


# --------------------------------------------------------------------------- sampling


def risk_flags(uow: UnitOfWork) -> dict[str, list[str]]:
    """Exchange ref → the risk flags that pick it (`reports.sampling.FLAGS`)."""
    s = uow.session
    flags: dict[str, set[str]] = {}
    refs = {i: r for i, r in s.execute(select(Exchange.id, Exchange.ref))}
    for x in s.scalars(select(Exchange).order_by(Exchange.id)):
        flags[x.ref] = set()
        if x.extensions:
            flags[x.ref].add("extension")
    for claim in s.scalars(select(Claim)):
        ref = refs[claim.exchange_id]
        if claim.override:
            flags[ref].add("override")
        cap = Decimal(str(((claim.computation or {}).get("inputs") or {}).get("cap", "1100.00")))
        if claim.amount >= cap:
            flags[ref].add("amount_at_cap")
    for subject, due, done in s.execute(select(HumanTask.subject_ref, HumanTask.due_at, HumanTask.completed_at).where(
            HumanTask.task_spec == "submit_evidence", HumanTask.due_at.is_not(None))):
        if subject in flags and due is not None and done is not None and done > due:
            flags[subject].add("late_evidence")
    for subject in s.scalars(select(AuditEvent.subject).where(AuditEvent.action.in_(("payment_rejected", "claim_held")))):
        if subject in flags:
            flags[subject].add("bank_rejection")
    _shared_ibans(uow, refs, flags)
    conflicted = set(s.scalars(select(ConflictDeclaration.organisation_id)))
    for ref, visitor, host in s.execute(select(Exchange.ref, Exchange.visitor_org_id, Exchange.host_org_id)):
        if visitor in conflicted or host in conflicted:
            flags[ref].add("conflict_of_interest")
    return {ref: sorted(f) for ref, f in flags.items()}


def _compact(iban: str | None) -> str:
    """An IBAN as compared: no spaces, upper case ("" for none)."""
    return (iban or "").replace(" ", "").upper()


def _shared_ibans(uow: UnitOfWork, refs: dict[int, str], flags: dict[str, set[str]]) -> None:
    """The same IBAN (claims' and organisations' accounts) used by different organisations."""
    s = uow.session
    owners: dict[str, set[int]] = {}
    for org_id, iban in s.execute(select(Organisation.id, Organisation.iban).where(Organisation.iban.is_not(None))):
        owners.setdefault(_compact(iban), set()).add(org_id)
    claim_ibans = s.execute(select(Claim.exchange_id, Claim.iban, Exchange.visitor_org_id)
                            .join(Exchange, Exchange.id == Claim.exchange_id).where(Claim.iban.is_not(None))).all()
    for _, iban, org_id in claim_ibans:
        owners.setdefault(_compact(iban), set()).add(org_id)
    shared = {i for i, orgs in owners.items() if len(orgs) > 1}
    org_ibans = {o: _compact(i) for o, i in s.execute(select(Organisation.id, Organisation.iban))}
    for exchange_id, iban, _org_id in claim_ibans:
        if _compact(iban) in shared:
            flags[refs[exchange_id]].add("same_iban_other_organisation")
    for ref, org_id in s.execute(select(Exchange.ref, Exchange.visitor_org_id)):
        if org_ibans.get(org_id) in shared:
            flags[ref].add("same_iban_other_organisation")


def draw_sample(app: App, size: int, seed: int) -> dict[str, Any]:
    """A random sample of `size` exchanges reproducible from `seed`, plus every risk-flagged one."""
    from reports.sampling import FLAGS, sample

    with app.uow() as uow:
        flags = risk_flags(uow)
    picks = sample(flags, size, seed)
    return {"seed": seed, "size": size, "population": len(flags), "flags": list(FLAGS), "sample": picks}
