"""The bank-details check (issue 20, point 5): the verifier sees the account the bank rejected, with
the bank's reason, beside the corrected one, both in full (grouped by four) — the approver of a
payment still sees the account masked."""
from __future__ import annotations

from tests.workflows.builders import FINANCE, SECOND_OFFICER, VISITOR, Programme, programme  # noqa: F401
from tests.workflows.test_payments_bank import approved, pain002, released_batch
from workflows.services.access import principal_by_name
from workflows.services.payments import import_status
from workflows.services.task_detail import task_detail


def test_the_verifier_sees_the_rejected_account_and_the_banks_reason_beside_the_corrected_one(
        programme: Programme) -> None:  # noqa: F811
    prog = approved(programme)
    approval = [e for e in prog.events("task_completed") if e.task == "approve_payment"]
    assert approval and approval[-1].actor == SECOND_OFFICER
    batch = released_batch(prog)["batch"]
    import_status(prog.app, pain002(batch, prog.exchange_ref, "AC04"), "PSR-1.xml", principal_by_name(prog.app, FINANCE))
    prog.complete("correct_bank_details", VISITOR, {"iban": "BE68 5390 0754 7034", "bic": None,
                                                    "account_holder": "Nova Cluster Brussels asbl"})
    shown = task_detail(prog.app, principal_by_name(prog.app, FINANCE), prog.open_task("verify_bank_details").id)
    ctx = shown.context
    assert ctx.rejected is not None
    assert (ctx.rejected.iban, ctx.rejected.reason_code, ctx.rejected.batch) == ("BE71 0961 2345 6769", "AC04", batch)
    assert ctx.rejected.reason and "closed" in ctx.rejected.reason.lower()
    assert (ctx.bank.iban, ctx.bank.holder) == ("BE68 5390 0754 7034", "Nova Cluster Brussels asbl")
