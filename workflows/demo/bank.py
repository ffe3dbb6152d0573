"""The demo's finance office and simulated bank, on the demo's simulated calendar.

- The payment-batch job runs whenever its schedule (`Settings.payment_batch_cron`, Mondays 06:00
  Europe/Brussels by default — the schedule `cxp flows serve` uses) fell since the previous simulated
  day, through the same function the Prefect flow and `cxp flows run` call.
- The next business day a finance user of the partnership who approved none of its payments
  releases each new batch (R-4EYES).
- The day after the release the bank answers with a pain.002 status report and a camt.054 debit
  notification, written to `files/bank/` and imported as finance would import them. The first time
  the bank sees an exchange whose scenario is `bank_reject`, it rejects the transfer with AC01
  (incorrect account number); the exchange's correction task runs and the claim is paid in a later batch.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from reports.bankfiles import make_camt054, make_pain002
from workflows.app import App
from workflows.db.base import must_get
from workflows.db.models import Claim, Partnership, User
from workflows.db.process_models import PaymentBatch, PaymentLine
from workflows.services.access import principal_by_name
from workflows.services.payments import CREATED, RELEASED, import_status, release_batch, run_payment_batches


class SimulatedBank:
    def __init__(self, app: App, rejected: set[str] | None = None,
                 on_reject: Callable[[str], None] | None = None) -> None:
        """`rejected`: the transfers already rejected once (a resumed demo); `on_reject` records a new
        one before the bank's answer is imported, so that a killed demo does not reject it again."""
        self.app = app
        self.files_written: list[str] = []
        self.payment_files: list[str] = []
        self.rejected_once: set[str] = set(rejected or ())
        self._on_reject = on_reject
        self._schedule_checked: datetime | None = None

    def business_day(self, today: date, scenarios: dict[str, Any]) -> None:
        if self._batch_due():
            self._batches()
        if today.weekday() < 5:
            self._release(today)
            self._answer(today, scenarios)

    # ---- the schedule ----------------------------------------------------------------------------
    def _batch_due(self) -> bool:
        """Whether the payment-batch schedule fired since the last simulated day."""
        from cronsim import CronSim

        settings = self.app.settings
        zone = ZoneInfo(settings.timezone)
        with self.app.uow() as uow:
            now = uow.now().astimezone(zone)
        since = self._schedule_checked or now - timedelta(days=1)
        self._schedule_checked = now
        return next(CronSim(settings.payment_batch_cron, since.replace(tzinfo=zone))) <= now

    # ---- finance ---------------------------------------------------------------------------------
    def _batches(self) -> None:
        result = run_payment_batches(self.app)
        for path in result["files"] + result["recovered_files"]:
            self.files_written.append(path)
            self.payment_files.append(path)

    def _release(self, today: date) -> None:
        with self.app.uow() as uow:
            todo = []
            for batch in uow.session.scalars(select(PaymentBatch).where(
                    PaymentBatch.status == CREATED, PaymentBatch.business_date < today).order_by(PaymentBatch.id)):
                approvers = set(uow.session.scalars(select(Claim.approved_by).join(
                    PaymentLine, PaymentLine.claim_id == Claim.id).where(PaymentLine.batch_id == batch.id)))
                releaser = uow.session.scalars(select(User.username).where(
                    User.role == "finance", User.partnership_id == batch.partnership_id,
                    User.id.not_in([a for a in approvers if a is not None])).order_by(User.id)).first()
                todo.append((batch.msg_id, releaser))
        for msg_id, releaser in todo:
            if releaser is not None:
                release_batch(self.app, msg_id, principal_by_name(self.app, releaser))

    # ---- the bank --------------------------------------------------------------------------------
    def _answer(self, today: date, scenarios: dict[str, Any]) -> None:
        zone = ZoneInfo(self.app.settings.timezone)
        with self.app.uow() as uow:
            todo = []
            for batch in uow.session.scalars(select(PaymentBatch).where(PaymentBatch.status == RELEASED)
                                             .order_by(PaymentBatch.id)):
                released = batch.released_at
                if released is None or released.astimezone(zone).date() + timedelta(days=1) > today:
                    continue
                batched = list(uow.session.scalars(select(PaymentLine).where(
                    PaymentLine.batch_id == batch.id, PaymentLine.status == "batched").order_by(PaymentLine.id)))
                if batched:
                    debtor_iban = batch.debtor_iban or must_get(uow.session, Partnership, batch.partnership_id).debtor_iban
                    todo.append((batch.msg_id, batch.pmt_inf_id, debtor_iban,
                                 [(line.end_to_end_id, line.amount) for line in batched]))
        folder = Path(self.app.settings.files_dir).resolve() / "bank"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.combine(today, time(7, 30), zone)
        for msg_id, pmt_inf_id, debtor_iban, lines in todo:
            answers = {ref: self._verdict(ref, scenarios) for ref, _ in lines}
            report = make_pain002(msg_id, answers, f"PSR-{msg_id}"[:35], stamp, original_pmt_inf_id=pmt_inf_id)
            self._import(folder / f"PSR-{msg_id}.xml", report)
            executed = [(ref, amount) for ref, amount in lines if answers[ref] is None]
            if executed:
                camt = make_camt054(executed, f"NTF-{msg_id}"[:35], stamp, debtor_iban, original_msg_id=msg_id)
                self._import(folder / f"NTF-{msg_id}.xml", camt)

    def _verdict(self, ref: str, scenarios: dict[str, Any]) -> str | None:
        """AC01 the first time the bank sees a `bank_reject` exchange; accepted otherwise."""
        scenario = scenarios.get(ref)
        if scenario is not None and scenario.kind == "bank_reject" and ref not in self.rejected_once:
            self.rejected_once.add(ref)
            if self._on_reject is not None:
                self._on_reject(ref)
            return "AC01"
        return None

    def _import(self, path: Path, content: bytes) -> None:
        path.write_bytes(content)
        self.files_written.append(str(path))
        from workflows.services.bank_feedback import finance_user_for  # the batch's finance office imports it

        import_status(self.app, content, path.name, principal_by_name(self.app, finance_user_for(self.app, content)))


__all__ = ["SimulatedBank"]
