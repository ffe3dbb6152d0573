"""Payment batch: n approved claims to a validated pain.001 file and a committed batch, next to the SEPA
library (sepaxml) generating and validating the same file alone, measured in the same run.

`seed_approved_claims` bulk-inserts the claims (with their exchanges and applications, no processes);
the tests use it too. The baseline is what a programme with nothing but sepaxml would do for the same
lines: build a `SepaTransfer` and `export(validate=True)` (sepaxml validates with `xmlschema`). Since
that validator is slow, the figure also gives the strictest baseline we know — sepaxml generating,
lxml validating against the same XSD — and our ratio to it.
"""
from __future__ import annotations

import gc
import resource
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from workflows.app import App
from workflows.db.models import Application, Call, Claim, ClaimStatus, Exchange, Organisation, Partnership, User
from workflows.db.process_models import PaymentLine
from workflows.services.setup import init_database
from workflows.settings import Settings

DEBTOR = {"name": "Cluster Alliance Bench", "iban": "BE68539007547034", "bic": "GKCCBEBB"}
_AMOUNTS = [Decimal("1100.00"), Decimal("950.00"), Decimal("780.00"), Decimal("550.00"), Decimal("475.00"),
            Decimal("390.00")]
_NAMES = ["Čluster Øresund ApS", "Müller & Söhne Technologie GmbH", "Łódź Innovation Hub", "Nova Cluster Brussels",
          "Société d'Études Numériques", "Zenith Agri-food Coop"]


def creditor_iban(i: int) -> str:
    """A valid, distinct German or Austrian IBAN for claim number `i`."""
    from schwifty import IBAN

    if i % 2:
        return str(IBAN.generate("DE", bank_code="37040044", account_code=str(1_000_000_000 + i)).compact)
    return str(IBAN.generate("AT", bank_code="19043", account_code=str(10_000_000_000 + i)).compact)


def seed_approved_claims(app: App, n: int, partnership_code: str = "BENCH", bad: frozenset[int] = frozenset(),
                         approver_username: str | None = None, ref_offset: int = 0) -> list[str]:
    """Insert `n` approved claims of one partnership (made if missing) in bulk; return their exchange refs.

    Claims whose index is in `bad` get an IBAN with wrong check digits. A partnership made here gets a
    finance user `finance.<code>` and an officer `approver.<code>` who approved every claim.
    """
    with app.uow() as uow:
        s = uow.session
        now = uow.now()
        partnership = s.scalars(select(Partnership).where(Partnership.code == partnership_code)).first()
        if partnership is None:
            partnership = Partnership(code=partnership_code, name=f"Partnership {partnership_code}",
                                      debtor_name=DEBTOR["name"], debtor_iban=DEBTOR["iban"], debtor_bic=DEBTOR["bic"],
                                      country="BE")
            s.add(partnership)
            s.flush()
            code = partnership_code.lower()
            s.add_all([User(username=f"finance.{code}", display_name=f"Finance {partnership_code}",
                            email=f"finance.{code}@example.org", role="finance", partnership_id=partnership.id),
                       User(username=f"approver.{code}", display_name=f"Approver {partnership_code}",
                            email=f"approver.{code}@example.org", role="officer", partnership_id=partnership.id)])
            s.flush()
        approver = s.scalars(select(User.id).where(
            User.username == (approver_username or f"approver.{partnership_code.lower()}"))).first()
        org = Organisation(legal_id=f"BENCH-{partnership_code}-{ref_offset}", legal_name="Bench Visitor",
                           org_type="sme", cluster_member=True, country="DE", city="Munich", latitude=48.1,
                           longitude=11.6, sectors=["digital"], contact_email="visitor@example.org",
                           partnership_id=partnership.id)
        call = Call(code=f"BENCH-{partnership_code}-{ref_offset}", title="Bench call",
                    lead_partnership_id=partnership.id, opens_on=date(2027, 1, 1), closes_on=date(2027, 3, 1),
                    matching_deadline=datetime(2027, 5, 1, tzinfo=UTC), budget=Decimal("99999999.00"),
                    rule_set_version="2026.1", formats=["exchange_visit"], status="open")
        s.add_all([org, call])
        s.flush()
        first_app = (s.scalar(select(Application.id).order_by(Application.id.desc()).limit(1)) or 0) + 1
        first_ex = (s.scalar(select(Exchange.id).order_by(Exchange.id.desc()).limit(1)) or 0) + 1
        refs = [f"EX-{ref_offset + i + 1:06d}" for i in range(n)]
        s.execute(insert(Application), [
            {"id": first_app + i, "call_id": call.id, "organisation_id": org.id, "partnership_id": partnership.id,
             "role": "visitor", "format": "exchange_visit", "date_from": date(2027, 2, 1), "date_to": date(2027, 3, 1),
             "declaration_given": True, "audit_rights_accepted": True, "submitted_at": now, "status": "submitted"}
            for i in range(n)])
        s.execute(insert(Exchange), [
            {"id": first_ex + i, "ref": refs[i], "call_id": call.id, "visitor_application_id": first_app + i,
             "visitor_org_id": org.id, "visitor_partnership_id": partnership.id, "format": "exchange_visit",
             "arrival": date(2027, 2, 7), "departure": date(2027, 2, 13), "status": "awaiting_payment",
             "created_at": now} for i in range(n)])
        s.execute(insert(Claim), [
            {"exchange_id": first_ex + i, "call_id": call.id, "partnership_id": partnership.id,
             "amount": _AMOUNTS[i % len(_AMOUNTS)], "computation": {"model": "lump_sum"},
             "status": ClaimStatus.APPROVED, "approved_by": approver, "approved_at": now, "created_at": now,
             "creditor_name": f"{_NAMES[i % len(_NAMES)]} {i}",
             "iban": "DE00370400441000000000" if i in bad else creditor_iban(ref_offset + i), "bic": None}
            for i in range(n)])
        uow.commit()
    return refs


def sepaxml_alone(lines: list[PaymentLine], execution: date, own_validation: bool = True) -> tuple[float, bytes]:
    """Seconds for sepaxml to generate (and validate) the same transfers; the document it wrote."""
    from lxml import etree
    from sepaxml import SepaTransfer

    from reports.sepa import pain001_schema

    started = time.perf_counter()
    transfer = SepaTransfer({"name": DEBTOR["name"], "IBAN": DEBTOR["iban"], "BIC": DEBTOR["bic"], "batch": True,
                             "currency": "EUR"}, schema="pain.001.001.03")
    for line in lines:
        transfer.add_payment({"name": line.creditor_name, "IBAN": line.iban, "amount": int(line.amount * 100),
                              "execution_date": execution, "description": line.remittance or line.end_to_end_id,
                              "endtoend_id": line.end_to_end_id})
    xml = transfer.export(validate=own_validation)
    if not own_validation:
        pain001_schema().assertValid(etree.fromstring(xml))
    return time.perf_counter() - started, xml


def run(n: int = 10_000) -> dict[str, Any]:
    """Time `create_batch` for `n` claims on a fresh SQLite database, then sepaxml alone on the same lines."""
    from workflows.services.payments import create_batch

    with tempfile.TemporaryDirectory(prefix="cxp-bench-pay-") as tmp:
        app = App(Settings(database_url=f"sqlite:///{tmp}/bench.db", files_dir=Path(tmp) / "files"))
        init_database(app)
        seed_approved_claims(app, n)
        gc.collect()
        started = time.perf_counter()
        result = create_batch(app, "BENCH")
        ours = time.perf_counter() - started
        if result["n_tx"] != n:
            raise RuntimeError(f"the batch holds {result['n_tx']} transfers, not {n}")
        with app.uow() as uow:
            lines = list(uow.session.scalars(select(PaymentLine).order_by(PaymentLine.end_to_end_id)))
            uow.session.expunge_all()
        execution = date.fromisoformat(result["execution_date"])
        gc.collect()
        alone, _ = sepaxml_alone(lines, execution, own_validation=True)
        gc.collect()
        alone_lxml, _ = sepaxml_alone(lines, execution, own_validation=False)
        size = Path(result["files"][0]).stat().st_size
        app.close()
    return {
        "claims": n, "ours_s": round(ours, 3), "sepaxml_alone_s": round(alone, 3), "ratio": round(ours / alone, 3),
        "sepaxml_lxml_validation_s": round(alone_lxml, 3), "ratio_to_sepaxml_lxml": round(ours / alone_lxml, 3),
        "file_bytes": size, "target_ratio": 2.0,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ours_includes": "query, schwifty checks, pain.001 build + XSD validation, CSV, lines, claims, "
                         "outbox row, audit event, commit, files written",
    }


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000), indent=2))
