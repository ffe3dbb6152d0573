"""A tiny programme for the reporting tests, driven through the real services: exchange 1 goes the whole
way (late evidence, a bank rejection, corrected bank details, paid 12 days after its payment was
approved), exchange 2 (the same visitor again) is ineligible: it already visited."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from reports.bankfiles import make_camt054, make_pain002
from tests.workflows.builders import (
    FINANCE,
    OFFICER,
    SECOND_OFFICER,
    VISITOR,
    Programme,
    accept_evidence,
    as_user,
    evidence,
)
from workflows.services.payments import create_batch, import_status, release_batch

GOOD_IBAN = "BE71096123456769"


def bank_time(prog: Programme) -> datetime:
    return prog.now().astimezone(UTC).replace(microsecond=0)


def paid_then_ineligible(prog: Programme) -> tuple[str, str]:
    """Drive both exchanges; (the paid one's ref, the ineligible one's ref)."""
    prog.awaiting_evidence()
    prog.advance(timedelta(days=16))  # evidence is due 15 days after the visit: it comes late
    prog.complete("submit_evidence", VISITOR, evidence())
    prog.complete("validate_evidence", OFFICER, accept_evidence())
    prog.complete("approve_payment", SECOND_OFFICER, {"decision": "approve", "comment": None})
    ref = prog.exchange_ref
    first = create_batch(prog.app, "CXP-NORTH")["batch"]
    release_batch(prog.app, first, as_user(prog.app, FINANCE))
    import_status(prog.app, make_pain002(first, {ref: "AC04"}, "PSR-1", bank_time(prog)), "PSR-1.xml", as_user(prog.app, FINANCE))
    prog.complete("correct_bank_details", VISITOR, {"iban": GOOD_IBAN, "bic": None, "account_holder": "Nova Cluster"})
    prog.complete("verify_bank_details", FINANCE, {"verified": True, "comment": "Checked."})
    second = create_batch(prog.app, "CXP-NORTH")["batch"]
    release_batch(prog.app, second, as_user(prog.app, FINANCE))
    prog.advance(timedelta(days=12))
    import_status(prog.app, make_camt054([(ref, Decimal("1100.00"))], "NTF-2", bank_time(prog), "BE68539007547034",
                                         original_msg_id=second), "NTF-2.xml", as_user(prog.app, FINANCE))
    prog.submit_visitor_application()
    return ref, prog.exchange_ref
