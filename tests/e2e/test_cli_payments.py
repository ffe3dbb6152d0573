"""The payment chain from the command line, in subprocesses: a crash (the process killed) at every step of
the payment batch never puts a claim in a second batch and the next run restores the files byte for
byte; then batches, release, export and the bank's answers, with one-line errors for bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from benchmarks.payment_batch import seed_approved_claims
from reports.bankfiles import make_camt054, make_pain002
from workflows.app import App
from workflows.db.models import Claim
from workflows.db.process_models import AuditEvent, OutboxMessage, PaymentBatch, PaymentLine
from workflows.services.payment_files import sha256
from workflows.services.setup import init_database
from workflows.settings import Settings

pytestmark = pytest.mark.slow

CRASH_POINTS = ["batch_after_hold", "batch_before_commit", "batch_after_commit", "batch_xml_tmp_written",
                "batch_after_xml", "batch_after_files"]
AT = datetime(2027, 3, 2, 7, 30, tzinfo=UTC)


class Cli:
    def __init__(self, folder: Path, url: str) -> None:
        self.folder, self.url = folder, url
        self.files = folder / "files"
        self.env = {**os.environ, "CXP_DATABASE_URL": url, "CXP_FILES_DIR": str(self.files)}
        self.env.pop("CXP_CRASH_AT", None)
        self.app = App(Settings(database_url=url, files_dir=self.files))
        init_database(self.app)

    def run(self, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "CXP_CRASH_AT": crash_at} if crash_at else self.env
        return subprocess.run([sys.executable, "-m", "workflows.cli.app", *args], cwd=self.folder, env=env,
                              capture_output=True, text=True, timeout=120)

    def ok(self, *args: str) -> Any:
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def fails(self, *args: str, code: int = 2) -> str:
        done = self.run(*args)
        assert done.returncode == code, (done.returncode, done.stderr)
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
        return done.stderr

    def state(self) -> dict[str, Any]:
        with self.app.uow() as uow:
            s = uow.session
            return {
                "batches": [(b.msg_id, b.file_sha256, b.summary_sha256, b.file_path, b.summary_path)
                            for b in s.scalars(select(PaymentBatch).order_by(PaymentBatch.id))],
                "open_lines_per_claim": dict(s.execute(select(PaymentLine.claim_id, func.count()).where(
                    PaymentLine.status != "rejected").group_by(PaymentLine.claim_id)).all()),
                "claims": dict(s.execute(select(Claim.id, Claim.status)).all()),
                "emails": s.scalar(select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.template == "payment_batch_ready")),
                "held_mails": s.scalar(select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.template == "payment_rejected")),
            }


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, f"sqlite:///{tmp_path}/cxp.db")


def check_crash_then_recovery(cli: Cli, point: str) -> None:
    refs = seed_approved_claims(cli.app, 6, partnership_code="CXP-NORTH", bad=frozenset({2}))

    crashed = cli.run("flows", "run", "payment-batch", "--no-prefect", "--json", crash_at=point)
    assert crashed.returncode == 137, crashed.stderr
    after_crash = cli.state()
    committed = point not in ("batch_after_hold", "batch_before_commit")
    assert len(after_crash["batches"]) == (1 if committed else 0)
    assert after_crash["emails"] == (1 if committed else 0)  # the email is queued with the batch, or not at all
    assert after_crash["held_mails"] == (1 if committed else 0)  # so is the held claim's visitor's

    again = cli.ok("flows", "run", "payment-batch", "--no-prefect")
    assert again["errors"] == []
    state = cli.state()
    msg_id, xml_sha, csv_sha, xml_path, csv_path = state["batches"][0]
    assert len(state["batches"]) == 1 and state["emails"] == 1 and state["held_mails"] == 1
    assert sorted(state["open_lines_per_claim"].values()) == [1] * 5  # five good claims, each in one batch
    assert sorted(state["claims"].values()) == ["batched"] * 5 + ["held"]
    named = again["files"] + again["recovered_files"]
    if point != "batch_after_files":
        assert sorted(named) == sorted([xml_path, csv_path])  # made now, or restored
    assert sha256(Path(xml_path).read_bytes()) == xml_sha and sha256(Path(csv_path).read_bytes()) == csv_sha
    assert not list((cli.files / "payments").glob(f"{msg_id}*.tmp"))
    exported = cli.ok("payments", "export", msg_id, "--out", str(cli.folder / "export"))
    assert [Path(p).read_bytes() for p in exported["files"]] == [Path(xml_path).read_bytes(),
                                                                Path(csv_path).read_bytes()]
    assert refs[2] not in Path(xml_path).read_text()


@pytest.mark.parametrize("point", [p for p in CRASH_POINTS if p not in ("batch_before_commit", "batch_after_commit")])
def test_a_crash_at_any_step_of_the_batch_never_pays_a_claim_twice(cli: Cli, point: str) -> None:
    check_crash_then_recovery(cli, point)


@pytest.mark.parametrize("point", ["batch_before_commit", "batch_after_commit"])
def test_a_crash_on_either_side_of_the_commit_never_pays_a_claim_twice(database_url: str, tmp_path: Path,
                                                                       point: str) -> None:
    check_crash_then_recovery(Cli(tmp_path, database_url), point)


def test_finance_lists_releases_and_exports_a_batch_and_imports_the_bank_answers(cli: Cli) -> None:
    refs = seed_approved_claims(cli.app, 3, partnership_code="CXP-NORTH")
    made = cli.ok("flows", "run", "payment-batch", "--no-prefect")
    batch = made["batches"][0]["batch"]
    assert made["files"] == made["batches"][0]["files"] and all(Path(p).is_file() for p in made["files"])

    listed = cli.ok("payments", "batches")["batches"]
    assert [(b["batch"], b["status"], b["n_tx"]) for b in listed] == [(batch, "created", 3)]
    assert cli.fails("payments", "release", batch, "--user", "approver.cxp-north", code=3).startswith(
        "error: refused: approver.cxp-north is not a finance officer")
    assert cli.ok("payments", "release", batch, "--user", "finance.cxp-north")["status"] == "released"
    assert "not awaiting release" in cli.fails("payments", "release", batch, "--user", "finance.cxp-north", code=4)

    status = cli.folder / "psr.xml"
    status.write_bytes(make_pain002(batch, {refs[0]: "AC04", refs[1]: None, refs[2]: None}, "PSR-1", AT))
    assert cli.fails("payments", "import-status", str(status), "--user", "approver.cxp-north", code=3) == (
        "error: refused: approver.cxp-north is officer: only a finance officer imports bank files; nothing was "
        "imported\n")
    answered = cli.ok("payments", "import-status", str(status), "--user", "finance.cxp-north")
    assert (answered["accepted"], answered["rejected"]) == (2, 1)
    assert (answered["version"], answered["imported_by"]) == ("pain.002.001.03", "finance.cxp-north")
    assert answered["returned"][0]["code"] == "AC04"
    assert "already imported: the same file" in cli.fails("payments", "import-status", str(status),
                                                          "--user", "finance.cxp-north")
    notice = cli.folder / "camt.xml"
    notice.write_bytes(make_camt054([(refs[1], Decimal("950.00")), (refs[2], Decimal("780.00"))], "NTF-1", AT,
                                    "BE68539007547034", original_msg_id=batch, version="camt.054.001.08"))
    readable = cli.run("payments", "import-status", str(notice), "--user", "finance.cxp-north")
    assert readable.returncode == 0, readable.stderr
    assert readable.stdout.startswith("camt.054.001.08 NTF-1 imported by finance.cxp-north: 2 executed")
    with cli.app.uow() as uow:
        events = uow.session.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.actor_role).where(
            AuditEvent.action.in_(["bank_import_refused", "bank_status_recorded", "bank_file_imported"]))
            .order_by(AuditEvent.id)).all()
    assert [tuple(e) for e in events] == [("bank_import_refused", "approver.cxp-north", "officer")] + [
        ("bank_status_recorded", "finance.cxp-north", "finance")] * 3 + [
        ("bank_file_imported", "finance.cxp-north", "finance")] + [
        ("bank_status_recorded", "finance.cxp-north", "finance")] * 2 + [
        ("bank_file_imported", "finance.cxp-north", "finance")]

    shown = cli.ok("payments", "show", batch)
    assert shown["status"] == "settled"
    assert [(t["status"], t["reason_code"]) for t in shown["transfers"]] == [
        ("rejected", "AC04"), ("executed", None), ("executed", None)]
    readable = cli.run("payments", "batches")
    assert readable.returncode == 0 and f"{batch}  CXP-NORTH  settled" in readable.stdout


def test_bad_bank_files_and_unknown_batches_get_one_line_errors(cli: Cli) -> None:
    seed_approved_claims(cli.app, 1, partnership_code="CXP-NORTH")
    finance = ("--user", "finance.cxp-north")
    broken = cli.folder / "broken.xml"
    broken.write_text("<Document><CstmrPmtStsRpt>")
    assert "broken.xml: the bank file is not well-formed XML" in cli.fails("payments", "import-status", str(broken),
                                                                          *finance)
    invalid = cli.folder / "invalid.xml"
    invalid.write_bytes(make_pain002("CXP-PB-1", {"EX-1": None}, "PSR-9", AT).replace(b"<MsgId>PSR-9</MsgId>", b""))
    assert cli.fails("payments", "import-status", str(invalid), *finance) == (
        "error: invalid.xml: the bank file does not match the official pain.002.001.03 XSD: line 6: Element "
        "'CreDtTm': This element is not expected. Expected is ( MsgId ); nothing was imported\n")
    assert "does not exist" in cli.fails("payments", "import-status", str(cli.folder / "missing.xml"), *finance)
    assert "no active user 'nobody'" in cli.fails("payments", "import-status", str(broken), "--user", "nobody")
    no_user = cli.run("payments", "import-status", str(broken))
    assert no_user.returncode == 2 and "--user" in no_user.stderr
    assert "no payment batch 'NOPE'" in cli.fails("payments", "export", "NOPE")
    assert "payment batch NOPE does not exist" in cli.fails("payments", "show", "NOPE")
    assert "--status: 'paid' is not a batch status" in cli.fails("payments", "batches", "--status", "paid")
