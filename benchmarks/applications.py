"""`POST /api/applications` over HTTP next to its service call (`create_application`), in turns in the
same run: p50/p95 of each, one client, bounded by `n` calls each.

Each call is a real submission by an organisation of its own (an organisation holds one live visitor
application at a time): it writes the application and its exchange, starts the `exchange` process and
runs its eligibility check, and answers with the outcome. The server is the product under uvicorn in
a process of its own (`benchmarks.http.Server`), on the benchmark programme's SQLite database."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

BODY = {"call": "BENCH-1", "role": "visitor", "format": "exchange_visit", "date_from": "2027-03-01",
        "date_to": "2027-03-31", "sectors": ["digital"], "wished_countries": ["AT"],
        "motivation": "Learn from peers abroad.", "declaration_given": True, "audit_rights_accepted": True}


@dataclass
class _Database:  # what benchmarks.http.Server reads of a fixture
    database_url: str
    files_dir: Path


def seed_applicants(app: Any, partnership_id: int, n: int) -> list[str]:
    """`n` organisations of Belgium, each with an applicant user; their usernames."""
    from workflows.db.models import Organisation, User

    names = []
    with app.uow() as uow:
        for i in range(n):
            org = Organisation(legal_id=f"BE-A{i:07d}", legal_name=f"Applicant {i}", org_type="cluster_organisation",
                               cluster_member=True, country="BE", city="Ghent", latitude=51.05, longitude=3.72,
                               sectors=["digital"], contact_email=f"a{i}@example.org", partnership_id=partnership_id)
            uow.session.add(org)
            uow.session.flush()
            uow.session.add(User(username=f"a{i}", display_name=f"Applicant {i}", email=f"a{i}@example.org",
                                 role="applicant", organisation_id=org.id))
            names.append(f"a{i}")
        uow.commit()
    return names


def run(n: int = 200) -> dict[str, Any]:
    from benchmarks.http import Server, in_turns
    from benchmarks.programme import Programme
    from workflows.app import App
    from workflows.services.access import SYSTEM, principal_by_name
    from workflows.services.application_inputs import ApplicationIn
    from workflows.services.applications import create_application
    from workflows.services.tokens import issue_token
    from workflows.settings import Settings

    with tempfile.TemporaryDirectory(prefix="cxp-bench-applications-") as tmp:
        url, files = f"sqlite:///{tmp}/applications.db", Path(tmp) / "files"
        programme = Programme(url, files)
        users = seed_applicants(programme.app, programme.partnership_id, 2 * n)
        tokens = [issue_token(programme.app, SYSTEM, u, name="bench", ttl_hours=24).token for u in users[:n]]
        programme.app.close()
        import httpx

        app = App(Settings(database_url=url, files_dir=files))
        principals = [principal_by_name(app, u) for u in users[n:]]
        form = ApplicationIn.model_validate(BODY)
        with Server(_Database(url, files)) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            api_next, service_next = count(), count()

            def api() -> None:
                answer = client.post("/api/applications", json=BODY,
                                     headers={"Authorization": f"Bearer {tokens[next(api_next)]}"})
                if answer.status_code != 201 or answer.json()["eligibility"]["eligible"] is not True:
                    raise RuntimeError(f"POST /api/applications answered {answer.status_code}: {answer.text[:300]}")

            def service() -> None:
                out = create_application(app, principals[next(service_next)], form)
                if out.eligibility.eligible is not True:
                    raise RuntimeError(f"the service answered {out.status}")

            figures = in_turns({"api": api, "service": service}, n)
            peak = server.peak_rss_mb()
        app.close()
    return {"calls_each": n, "api": figures["api"], "service": figures["service"],
            "ratio_p50": round(figures["api"]["p50_ms"] / figures["service"]["p50_ms"], 3),
            "ratio_p95": round(figures["api"]["p95_ms"] / figures["service"]["p95_ms"], 3),
            "server_peak_rss_mb": peak}
