"""The files of a payment batch: the pain.001 credit transfer and its CSV summary.

A batch's files are derived data. Everything they are made of — the debtor account, the lines, the
ids, the execution date and the creation time — is committed in the database together with the
SHA-256 of each file, and `reports.sepa.build_pain001` is deterministic, so:

- files are written only *after* the batch is committed, each one atomically (a temporary name,
  fsync, rename): a crash leaves either no file or the whole file, never a half-written one, and
  never a file for a batch that does not exist;
- `recover_files` (run before every batch run, before a release and before the outbox sends the
  files) rebuilds any file that is missing or damaged and writes it only if its SHA-256 is the one
  committed with the batch;
- `export_batch` rebuilds the files from the database at any later time, byte for byte.
"""
from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reports.payment_summary import summary_csv
from reports.sepa import CreditTransfer, Debtor, InvalidTransfersError, build_pain001
from workflows.app import App
from workflows.db.base import must_get
from workflows.db.models import Partnership
from workflows.db.process_models import PaymentBatch, PaymentLine
from workflows.services import NotFound, ServiceError
from workflows.services.faults import crash_point
from workflows.uow import UnitOfWork

SETTLED = "settled"
_STALE_TMP_SECONDS = 600


@dataclass(frozen=True)
class BatchFiles:
    """The two files of one batch, as bytes, with where they belong."""

    xml_path: Path
    csv_path: Path
    xml: bytes
    csv: bytes

    @property
    def xml_sha256(self) -> str:
        return sha256(self.xml)

    @property
    def csv_sha256(self) -> str:
        return sha256(self.csv)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payments_dir(app: App) -> Path:
    return Path(app.settings.files_dir).resolve() / "payments"


def paths_for(app: App, msg_id: str) -> tuple[Path, Path]:
    folder = payments_dir(app)
    return folder / f"{msg_id}.xml", folder / f"{msg_id}.csv"


def build_files(app: App, batch: PaymentBatch, debtor: Debtor, transfers: list[CreditTransfer]) -> BatchFiles:
    """The pain.001 (XSD-validated by `build_pain001`) and the CSV summary of `batch`.

    Raises `InvalidTransfersError` naming every transfer whose bank details schwifty refuses.
    """
    try:
        xml = build_pain001(debtor, transfers, batch.msg_id, batch.pmt_inf_id, batch.execution_date,
                            batch.created_at)
    except InvalidTransfersError:
        raise  # the caller holds those claims out and builds again
    except ValueError as err:  # also SepaValidationError
        raise ServiceError(f"batch {batch.msg_id}: the SEPA file cannot be built: {err}") from err
    xml_path, csv_path = paths_for(app, batch.msg_id)
    return BatchFiles(xml_path, csv_path, xml, summary_csv(transfers, batch.msg_id))


def transfers_of(lines: Iterable[PaymentLine]) -> list[CreditTransfer]:
    return [CreditTransfer(end_to_end_id=line.end_to_end_id, creditor_name=line.creditor_name, iban=line.iban,
                           bic=line.bic, amount=line.amount, remittance=line.remittance or line.end_to_end_id)
            for line in lines]


def debtor_of(uow: UnitOfWork, batch: PaymentBatch) -> Debtor:
    """The account the batch pays from, as stored with it (older rows: the partnership's)."""
    if batch.debtor_iban:
        return Debtor(batch.debtor_name or "", batch.debtor_iban, batch.debtor_bic)
    partnership = must_get(uow.session, Partnership, batch.partnership_id)
    return Debtor(partnership.debtor_name, partnership.debtor_iban, partnership.debtor_bic)


def rebuild(app: App, uow: UnitOfWork, batch: PaymentBatch) -> BatchFiles:
    """The batch's files rebuilt from the database; refused unless they hash as committed."""
    lines = uow.session.scalars(select(PaymentLine).where(PaymentLine.batch_id == batch.id)
                                .order_by(PaymentLine.end_to_end_id))
    files = build_files(app, batch, debtor_of(uow, batch), transfers_of(lines))
    for name, got, committed in (("pain.001 file", files.xml_sha256, batch.file_sha256),
                                 ("CSV summary", files.csv_sha256, batch.summary_sha256)):
        if committed and got != committed:
            raise ServiceError(
                f"batch {batch.msg_id}: rebuilding its {name} from the database gives SHA-256 {got[:12]}…, "
                f"not the {committed[:12]}… committed with the batch; the stored batch was changed, so no "
                "different file is written")
    return files


def write_atomically(path: Path, data: bytes, crash_name: str | None = None) -> None:
    """Write `data` to `path` so that a crash leaves the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if crash_name:
        crash_point(crash_name)
    os.replace(tmp, path)


def write_files(files: BatchFiles) -> list[str]:
    """Write both files (each atomically) after the batch was committed; the crash points name the gaps."""
    write_atomically(files.xml_path, files.xml, crash_name="batch_xml_tmp_written")
    crash_point("batch_after_xml")
    write_atomically(files.csv_path, files.csv)
    return [str(files.xml_path), str(files.csv_path)]


def _intact(path: Path, committed: str | None, check_hash: bool) -> bool:
    if not path.is_file():
        return False
    return not (check_hash and committed) or sha256(path.read_bytes()) == committed


def recover_files(app: App, partnership_id: int | None = None, msg_id: str | None = None) -> list[str]:
    """Rebuild the files of committed batches that are missing or damaged; return what was written.

    Files of settled batches are only checked for presence; the others are hashed too.
    """
    written: list[str] = []
    with app.uow() as uow:
        query = select(PaymentBatch).order_by(PaymentBatch.id)
        if partnership_id is not None:
            query = query.where(PaymentBatch.partnership_id == partnership_id)
        if msg_id is not None:
            query = query.where(PaymentBatch.msg_id == msg_id)
        for batch in uow.session.scalars(query):
            xml_path, csv_path = paths_for(app, batch.msg_id)
            check = batch.status != SETTLED
            if _intact(xml_path, batch.file_sha256, check) and _intact(csv_path, batch.summary_sha256, check):
                continue
            written.extend(write_files(rebuild(app, uow, batch)))
    _remove_stale_tmp(payments_dir(app))
    return written


def _remove_stale_tmp(folder: Path) -> None:
    """Temporary files left by a crash mid-write (their batch's file has been rebuilt meanwhile)."""
    if not folder.is_dir():
        return
    limit = time.time() - _STALE_TMP_SECONDS
    for tmp in folder.glob(".*.tmp"):
        try:
            if tmp.stat().st_mtime < limit:
                tmp.unlink()
        except FileNotFoundError:  # another process cleaned it up first
            pass


def export_batch(app: App, msg_id: str, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Rebuild a batch's files from the database (same bytes as when it was created) and write them to
    `out_dir`, or to the payments folder when none is given (which also repairs them there)."""
    with app.uow() as uow:
        batch = uow.session.scalars(select(PaymentBatch).where(PaymentBatch.msg_id == msg_id)).first()
        if batch is None:
            raise NotFound(f"batch: no payment batch '{msg_id}'")
        files = rebuild(app, uow, batch)
    if out_dir is not None:
        target = Path(out_dir).resolve()
        if target.exists() and not target.is_dir():
            raise ServiceError(f"--out: {target} is not a folder")
        files = BatchFiles(target / files.xml_path.name, target / files.csv_path.name, files.xml, files.csv)
    written = write_files(files)
    return {"batch": msg_id, "files": written, "sha256": files.xml_sha256, "summary_sha256": files.csv_sha256,
            "identical_to_committed": True}
