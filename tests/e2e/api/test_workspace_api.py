"""The staff workspace's actions through the HTTP API (issue 20, points 1 and 4): what each call does,
beyond who may call it (tests/e2e/api/matrix_workspace.py)."""
from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from tests.e2e.api.conftest import World, fresh_exchange
from tests.workflows.builders import ATTENDANCE_PDF


def visitor_legal_id(world: World, ref: str) -> str:
    from sqlalchemy import select

    from workflows.db.models import Exchange, Organisation

    with world.app.uow() as uow:
        return uow.session.scalar(select(Organisation.legal_id).join(
            Exchange, Exchange.visitor_org_id == Organisation.id).where(Exchange.ref == ref))


def test_an_officer_cancels_an_exchange_and_a_conflicted_one_is_refused_in_words(client: Any, world: World) -> None:
    first, second = fresh_exchange(world), fresh_exchange(world)
    done = client.post(f"/api/exchanges/{first}/cancel", json={"reason": "Withdrawn."}, headers=world.headers("officer"))
    assert done.status_code == 200 and done.json()["action"] == "cancelled"
    assert client.get(f"/api/exchanges/{first}", headers=world.headers("officer")).json()["status"] == "cancelled"
    blank = client.post(f"/api/exchanges/{second}/cancel", json={"reason": " "}, headers=world.headers("officer"))
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"][-1] == "reason"
    legal_id = visitor_legal_id(world, second)
    declared = client.post("/api/conflicts", json={"organisation": legal_id, "reason": "My cousin runs it."},
                           headers=world.headers("officer"))
    assert declared.status_code == 201 and declared.json()["legal_id"] == legal_id
    assert legal_id in [c["legal_id"] for c in client.get("/api/conflicts", headers=world.headers("officer")).json()]
    refused = client.post(f"/api/exchanges/{second}/cancel", json={"reason": "Try."}, headers=world.headers("officer"))
    assert refused.status_code == 403 and "You declared a conflict of interest with Fresh Cluster" in refused.json()["detail"]


def test_evidence_is_downloaded_with_its_type_as_an_attachment_never_cached(client: Any, world: World) -> None:
    digest = hashlib.sha256(ATTENDANCE_PDF).hexdigest()
    got = client.get(f"/api/exchanges/{world.exchange_ref}/evidence/{digest}", headers=world.headers("auditor"))
    assert got.status_code == 200 and got.content == ATTENDANCE_PDF
    assert got.headers["content-type"] == "application/pdf" and got.headers["cache-control"] == "no-store"
    assert got.headers["content-disposition"] == ("attachment; filename=\"attendance.pdf\"; "
                                                  "filename*=UTF-8''attendance.pdf")


def test_the_reports_and_the_audit_sample_come_as_files(client: Any, world: World) -> None:
    kpi = client.get("/api/reports/kpi/file", params={"format": "zip"}, headers=world.headers("officer"))
    assert kpi.status_code == 200 and kpi.content[:2] == b"PK" and "CXP-NORTH" in kpi.headers["content-disposition"]
    fstp = client.get("/api/reports/fstp", params={"call": "NO-SUCH-CALL"}, headers=world.headers("finance"))
    assert fstp.status_code == 404
    sample = client.get("/api/audit/sample/csv", params={"size": 2, "seed": 7}, headers=world.headers("auditor"))
    rows = list(csv.DictReader(io.StringIO(sample.text)))
    json_sample = client.get("/api/audit/sample", params={"size": 2, "seed": 7}, headers=world.headers("auditor")).json()
    assert [r["exchange"] for r in rows] == [p["exchange"] for p in json_sample["sample"]]
    assert all(r["seed"] == "7" and r["reasons"] for r in rows)


def test_incidents_list_and_a_retry_without_an_incident_says_so(client: Any, world: World) -> None:
    listed = client.get("/api/incidents", headers=world.headers("officer"))
    assert listed.status_code == 200 and isinstance(listed.json(), list)
    retry = client.post(f"/api/instances/{world.instance_id}/retry", headers=world.headers("officer"))
    assert retry.status_code == 422 and "has no open incident" in retry.json()["detail"][0]["msg"]
