"""`POST /api/applications` over HTTP next to its service call (`create_application`), in turns in the
same run: p50/p95 of each, one client, bounded by `n` calls each.

Each call is a real submission by an organisation of its own (an organisation holds one live visitor
application at a time): it writes the application and its exchange, starts the `exchange` process and
runs its eligibility check, and answers with the outcome. The server is the product under uvicorn in
a process of its own (`benchmarks.http.Server`), on the benchmark programme's SQLite database.

`public_pages`: the public pages `/calls` and `/offers` (1,000 published offers by default, a page of
20, and filtered by country and sector) and `GET /api/calls`, `GET /api/offers`, anonymous, each next
to its service call (`public_calls`, `public_offers`) in turns in the same run."""
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


# ---- the public pages (SPEC §13): /calls and /offers with many published offers -----------------------

OFFER_COUNTRIES = (("AT", "Vienna", 48.21, 16.37), ("FR", "Lyon", 45.76, 4.84), ("DE", "Leipzig", 51.34, 12.37),
                   ("ES", "Valencia", 39.47, -0.38), ("PL", "Kraków", 50.06, 19.94))
OFFER_SECTORS = ("digital", "health", "agri_food", "renewable_energy", "textile", "tourism")
OFFER_FORMATS = ("exchange_visit", "conference_fair", "individual_exchange")


def seed_offers(app: Any, call_id: int, partnership_id: int, n: int, prefix: str = "Host") -> list[int]:
    """`n` published host offers of the call, each by an organisation of its own, spread over five
    countries, six sectors, three formats and the months after 1 March 2027; their ids."""
    from datetime import date, timedelta

    from workflows.db.models import Application, Organisation

    ids = []
    with app.uow() as uow:
        for i in range(n):
            country, city, lat, lon = OFFER_COUNTRIES[i % len(OFFER_COUNTRIES)]
            sectors = [OFFER_SECTORS[i % len(OFFER_SECTORS)], OFFER_SECTORS[(i + 2) % len(OFFER_SECTORS)]]
            org = Organisation(legal_id=f"{country}-{prefix[:4].upper()}{i:07d}", legal_name=f"{prefix} {i}",
                               org_type="cluster_organisation", cluster_member=True, country=country, city=city,
                               latitude=lat, longitude=lon, sectors=sectors, contact_email=f"{prefix.lower()}{i}@example.org",
                               iban="AT611904300234573201", account_holder=f"{prefix} {i}", partnership_id=partnership_id)
            uow.session.add(org)
            uow.session.flush()
            start = date(2027, 3, 1) + timedelta(days=7 * (i % 26))
            offer = Application(call_id=call_id, organisation_id=org.id, partnership_id=partnership_id, role="host",
                                format=OFFER_FORMATS[i % len(OFFER_FORMATS)], date_from=start,
                                date_to=start + timedelta(days=27), sectors=sectors, capacity=1 + i % 3,
                                topics=[f"topic {i % 7}"], activities_offered=["study_visit", "matchmaking"],
                                declaration_given=True, audit_rights_accepted=True, submitted_at=uow.now(),
                                status="published")
            uow.session.add(offer)
            uow.session.flush()
            ids.append(offer.id)
        uow.commit()
    return ids


def public_pages(offers: int = 1000, n: int = 100) -> dict[str, Any]:
    """`GET /calls`, `GET /offers` (a page of 20 of `offers`, and filtered by country and sector) and
    their JSON twins, anonymous, each next to its service call, in turns in the same run: p50/p95."""
    from benchmarks.http import Server, getter, http_client, in_turns
    from benchmarks.programme import Programme
    from workflows.app import App
    from workflows.services.public_calls import OfferFilter, public_calls, public_offers
    from workflows.settings import Settings

    with tempfile.TemporaryDirectory(prefix="cxp-bench-public-") as tmp:
        url, files = f"sqlite:///{tmp}/public.db", Path(tmp) / "files"
        programme = Programme(url, files)
        seed_offers(programme.app, programme.call_id, programme.partnership_id, offers)
        programme.app.close()
        app = App(Settings(database_url=url, files_dir=files))
        everything, filtered = OfferFilter(), OfferFilter(country="FR", sector="digital")
        with Server(_Database(url, files)) as server, http_client(server.url) as client:
            listing = getter(client, "/offers")()
            if f"{offers} offer" not in listing.text and f"{offers + 1} offer" not in listing.text:
                raise RuntimeError("GET /offers does not list the seeded offers")
            figures = in_turns({
                "calls_page": getter(client, "/calls"), "calls_api": getter(client, "/api/calls"),
                "calls_service": lambda: public_calls(app),
                "offers_page": getter(client, "/offers"), "offers_api": getter(client, "/api/offers"),
                "offers_service": lambda: public_offers(app, everything),
                "offers_filtered_page": getter(client, "/offers?country=FR&sector=digital"),
                "offers_filtered_service": lambda: public_offers(app, filtered),
            }, n)
            peak = server.peak_rss_mb()
        total = public_offers(app, everything).total
        app.close()

    def ratio(a: str, b: str) -> float:
        return round(figures[a]["p50_ms"] / figures[b]["p50_ms"], 2)

    return {"offers": total, "calls_each": n, **figures,
            "ratio_p50": {"calls_page_to_service": ratio("calls_page", "calls_service"),
                          "calls_api_to_service": ratio("calls_api", "calls_service"),
                          "offers_page_to_service": ratio("offers_page", "offers_service"),
                          "offers_api_to_service": ratio("offers_api", "offers_service"),
                          "offers_filtered_page_to_service": ratio("offers_filtered_page", "offers_filtered_service")},
            "server_peak_rss_mb": peak}
