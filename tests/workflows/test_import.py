"""`cxp import` (workflows/services/imports.py): a programme file is written in one transaction, and a
bad one — a key used twice in the file or already in the database, a byte that is not UTF-8, an unknown
country — is one sentence naming the record by its path, with nothing written."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from workflows.app import App
from workflows.db.models import Application, Call, Organisation, Partnership, User
from workflows.db.process_models import AuditEvent
from workflows.services import ServiceError
from workflows.services.imports import import_file, record_path


def org(n: int, name: str, country: str = "BE") -> dict[str, Any]:
    return {"legal_id": f"{country}0{n:09d}", "legal_name": name, "org_type": "cluster_organisation",
            "country": country, "city": "Brussels", "latitude": 50.85, "longitude": 4.35,
            "contact_email": f"contact{n}@example.org", "partnership": "CXP-NORTH"}


PROGRAMME: dict[str, Any] = {
    "partnerships": [{"code": "CXP-NORTH", "name": "ClusterXchange North", "country": "BE",
                      "debtor_name": "Cluster Alliance North", "debtor_iban": "BE68539007547034"}],
    "organisations": [org(1, "Nova Cluster"), org(2, "Helix Cluster"), org(3, "Orbit Cluster")],
    "users": [{"username": "officer1", "display_name": "Olga Officer", "email": "o1@example.org",
               "role": "officer", "partnership": "CXP-NORTH"},
              {"username": "nova", "display_name": "Nora Nova", "email": "nora@example.org",
               "role": "applicant", "organisation": "BE0000000001"}],
    "calls": [{"code": "CXP-2027-01", "title": "First call", "lead_partnership": "CXP-NORTH",
               "opens_on": "2027-01-11", "closes_on": "2027-03-05",
               "matching_deadline": "2027-05-28T18:00:00+02:00", "budget": "30000.00"}],
    "applications": [{"call": "CXP-2027-01", "organisation": "BE0000000001", "role": "visitor",
                      "date_from": "2027-02-01", "date_to": "2027-03-01", "wished_countries": ["AT"],
                      "declaration_given": True, "audit_rights_accepted": True}],
}


def write(folder: Path, document: dict[str, Any], name: str = "programme.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def counts(app: App) -> dict[str, int]:
    with app.uow() as uow:
        return {model.__name__: uow.session.scalar(select(func.count()).select_from(model))
                for model in (Partnership, Organisation, User, Call, Application, AuditEvent)}


def refused(app: App, path: Path) -> str:
    before = counts(app)
    with pytest.raises(ServiceError) as caught:
        import_file(app, str(path))
    assert counts(app) == before
    return str(caught.value)


def test_a_programme_file_is_imported(app: App, tmp_path: Path) -> None:
    result = import_file(app, str(write(tmp_path, PROGRAMME)))
    assert result == {"partnerships": 1, "organisations": 3, "users": 2, "calls": 1, "applications": 1}


def test_a_key_used_twice_in_the_file_names_both_records(app: App, tmp_path: Path) -> None:
    document = copy.deepcopy(PROGRAMME)
    document["organisations"].append(org(2, "Second Helix"))
    assert refused(app, write(tmp_path, document)) == (
        "organisations[3].legal_id: 'BE0000000002' is already used by organisation 'Helix Cluster' "
        "(organisations[1] of this file)")
    document = copy.deepcopy(PROGRAMME)
    document["users"][1]["username"] = "officer1"
    assert refused(app, write(tmp_path, document)).startswith(
        "users[1].username: 'officer1' is already used by user 'Olga Officer'")


@pytest.mark.parametrize(("section", "key", "what", "name"), [
    ("partnerships", "code", "partnership", "ClusterXchange North"),
    ("organisations", "legal_id", "organisation", "Orbit Cluster"),
    ("users", "username", "user", "Nora Nova"),
    ("calls", "code", "call", "First call"),
])
def test_a_key_already_in_the_database_is_refused_and_nothing_is_written(
        app: App, tmp_path: Path, section: str, key: str, what: str, name: str) -> None:
    import_file(app, str(write(tmp_path, PROGRAMME)))
    existing = {"partnerships": 0, "organisations": 2, "users": 1, "calls": 0}[section]
    again = {"partnerships": [], "organisations": [], "users": [], "calls": [], "applications": []}
    record = copy.deepcopy(PROGRAMME[section][existing])
    if section == "partnerships":
        record["name"] = "Another name"
    fresh = copy.deepcopy(PROGRAMME[section][0])
    fresh[key] = "FRESH-KEY-1"
    again[section] = [fresh, record]
    message = refused(app, write(tmp_path, again, "again.json"))
    assert message == f"{section}[1].{key}: {record[key]!r} is already used by {what} {name!r}"


def test_a_file_that_is_not_utf8_names_the_byte(app: App, tmp_path: Path) -> None:
    path = tmp_path / "programme.json"
    text = json.dumps(PROGRAMME).replace("Nova Cluster", "Nova Cluster Liège")
    path.write_bytes(text.encode("latin-1"))
    offset = text.encode("latin-1").index(b"\xe8")
    assert refused(app, path) == f"FILE: programme.json is not UTF-8 text (byte 0xe8 at offset {offset})"


def test_an_unknown_country_names_its_record(app: App, tmp_path: Path) -> None:
    document = copy.deepcopy(PROGRAMME)
    document["organisations"][2]["country"] = "Belgium"
    assert refused(app, write(tmp_path, document)).startswith(
        "programme.json: organisations[2].country: 'Belgium' is not")
    document = copy.deepcopy(PROGRAMME)
    document["applications"][0]["wished_countries"] = ["AT", "Austria"]
    assert refused(app, write(tmp_path, document)).startswith(
        "programme.json: applications[0].wished_countries: 'Austria' is not")


def test_a_subdivision_the_holiday_calendar_does_not_know_names_its_record(app: App, tmp_path: Path) -> None:
    document = copy.deepcopy(PROGRAMME)
    document["organisations"][0]["subdivision"] = "ZZ"
    assert refused(app, write(tmp_path, document)).startswith(
        "programme.json: organisations[0].subdivision: 'ZZ' is not a subdivision of BE (known: ")
    document["organisations"][0].update(country="DE", subdivision="DE-BY")
    import_file(app, str(write(tmp_path, document)))
    with app.uow() as uow:
        assert uow.session.scalar(select(Organisation.subdivision).where(
            Organisation.legal_id == document["organisations"][0]["legal_id"])) == "BY"


def test_a_reference_to_nothing_names_its_record(app: App, tmp_path: Path) -> None:
    document = copy.deepcopy(PROGRAMME)
    document["applications"][0]["organisation"] = "BE0999999999"
    assert refused(app, write(tmp_path, document)) == (
        "applications[0].organisation: 'BE0999999999' is neither in the file nor in the database")


def test_record_paths_read_as_in_the_file() -> None:
    assert record_path(("organisations", 2, "country")) == "organisations[2].country"
    assert record_path(("calls", 0, "events", 1, "kind")) == "calls[0].events[1].kind"
