"""The demo's finance office and simulated bank: Monday batches, release the next day, the bank's
pain.002 and camt.054 answers two days later (one account rejected once with AC01)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reports.bankfiles import make_camt054, make_pain002
from workflows.app import App
from workflows.db.models import Claim, Partnership, User
from workflows.db.process_models import PaymentBatch
from workflows.demo.data import BRUSSELS
from workflows.services.payments import create_batch, import_status, lines_of, release_batch


class SimulatedBank:
    def __init__(self, app: App) -> None:
        self.app = app
        self.files_written: list[str] = []
        self.rejected_once: set[str] = set()

    def business_day(self, today: date, scenarios: dict[str, Any]) -> None:
        if today.weekday() == 0:
            self._batches()
        if today.weekday() < 5:
            self._release(today)
            self._answer(today, scenarios)

    def _batches(self) -> None:
        with self.app.uow() as uow:
            codes = list(uow.session.scalars(select(Partnership.code).order_by(Partnership.id)))
        for code in codes:
            result = create_batch(self.app, code)
            self.files_written.extend(result["files"])

    def _release(self, today: date) -> None:
        with self.app.uow() as uow:
            batches = [(b.msg_id, b.partnership_id) for b in uow.session.scalars(
                select(PaymentBatch).where(PaymentBatch.status == "created", PaymentBatch.business_date < today))]
            users = {pid: uow.session.scalars(select(User.username).where(
                User.role == "finance", User.partnership_id == pid)).first() for _, pid in batches}
        for msg_id, pid in batches:
            release_batch(self.app, msg_id, users[pid])

    def _answer(self, today: date, scenarios: dict[str, Any]) -> None:
        with self.app.uow() as uow:
            now = uow.now()
            todo = []
            for batch in uow.session.scalars(select(PaymentBatch).where(PaymentBatch.status == "released")):
                if batch.released_at.astimezone(BRUSSELS).date() + timedelta(days=1) > today:
                    continue
                lines = [l for l in lines_of(uow, batch) if l.status == "batched"]
                if lines:
                    partnership = uow.session.get(Partnership, batch.partnership_id)
                    todo.append((batch.msg_id, partnership.debtor_iban, [(l.end_to_end_id, l.amount) for l in lines]))
                else:
                    batch.status = "answered"
            uow.commit()
        folder = Path(self.app.settings.files_dir) / "bank"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.combine(today, time(7, 30), BRUSSELS)
        for msg_id, debtor_iban, lines in todo:
            answers = {}
            for ref, _ in lines:
                reject = scenarios.get(ref) is not None and scenarios[ref].kind == "bank_reject" \
                    and ref not in self.rejected_once
                answers[ref] = "AC01" if reject else None
                if reject:
                    self.rejected_once.add(ref)
            report = make_pain002(msg_id, answers, f"PSR-{msg_id}"[:35], stamp)
            self._import(folder / f"PSR-{msg_id}.xml", report)
            executed = [(ref, amount) for ref, amount in lines if answers[ref] is None]
            if executed:
                camt = make_camt054(executed, f"NTF-{msg_id}"[:35], stamp, debtor_iban, original_msg_id=msg_id)
                self._import(folder / f"NTF-{msg_id}.xml", camt)

    def _import(self, path: Path, content: bytes) -> None:
        path.write_bytes(content)
        self.files_written.append(str(path))
        import_status(self.app, content, path.name)


__all__ = ["SimulatedBank", "Claim"]
