"""Names found however they are typed (workflows/db/folding.py), on SQLite and PostgreSQL: exchanges and
organisations by a name in any script or its Latin transliteration, with or without accents or
capitals — Greek, Cyrillic, Polish and Icelandic names — through the organisations' folded column,
which every insert and update keeps and migration 0013 fills for the organisations already stored."""
from __future__ import annotations

from importlib.resources import as_file
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from tests.workflows.builders import AUDITOR, OFFICER, Programme, programme  # noqa: F401 - the fixture
from workflows.app import App
from workflows.db.folding import contains_pattern, fold
from workflows.db.models import Organisation
from workflows.services.exchange_search import search_exchanges
from workflows.services.partnerships import search_organisations
from workflows.settings import Settings


@pytest.mark.parametrize(("typed", "folded"), [
    ("Kraków", "krakow"), ("KRAKOW", "krakow"), ("Кластер", "klaster"), ("Θεσσαλονίκη", "thessaloniki"),
    ("Þórshöfn", "thorshofn"), ("Reykjavík", "reykjavik"), ("Małopolska", "malopolska"),
    ("  Straße   Nord ", "strasse nord"), ("", ""), (None, ""),
])
def test_a_name_folds_to_lower_case_latin_without_accents(typed: str | None, folded: str) -> None:
    assert fold(typed) == folded


def test_a_query_is_a_pattern_whose_own_wildcards_match_themselves() -> None:
    assert contains_pattern("100%_x") == "%100\\%\\_x%"
    assert contains_pattern("   ") is None


def _rename(prog: Programme, organisation_id: int, name: str, city: str) -> None:
    with prog.app.uow() as uow:
        org = uow.session.get(Organisation, organisation_id)
        assert org is not None
        org.legal_name, org.city = name, city
        uow.commit()


@pytest.fixture
def named(programme: Programme) -> Programme:  # noqa: F811
    """The visitor Cyrillic, the host Greek, the outsider Polish, and a new Icelandic organisation."""
    _rename(programme, programme.visitor_org_id, "Кластер Иннова", "Brussels")
    _rename(programme, programme.host_org_id, "Σύμπλεγμα Θεσσαλονίκης", "Vienna")
    _rename(programme, programme.outsider_org_id, "Klaster Kraków Małopolska", "Kraków")
    with programme.app.uow() as uow:
        uow.session.add(Organisation(
            legal_id="IS5501690339", legal_name="Þekkingarklasi Reykjavíkur", org_type="cluster_organisation",
            cluster_member=True, country="IS", city="Reykjavík", latitude=64.1, longitude=-21.9, sectors=["digital"],
            contact_email="klasi@example.is", partnership_id=programme.north_id))
        uow.commit()
    programme.submit_visitor_application()
    return programme


def _names(prog: Programme, q: str) -> list[str]:
    return [o.legal_name for o in search_organisations(prog.app, prog.principal(AUDITOR), q).items]


FOUND = [
    ("Klaster", ["Klaster Kraków Małopolska", "Кластер Иннова"]),
    ("Кластер", ["Klaster Kraków Małopolska", "Кластер Иннова"]),
    ("Krakow", ["Klaster Kraków Małopolska"]), ("Kraków", ["Klaster Kraków Małopolska"]),
    ("KRAKÓW", ["Klaster Kraków Małopolska"]), ("malopolska", ["Klaster Kraków Małopolska"]),
    ("innova", ["Кластер Иннова"]), ("Иннова", ["Кластер Иннова"]),
    ("thessalonikis", ["Σύμπλεγμα Θεσσαλονίκης"]), ("ΘΕΣΣΑΛΟΝΙΚΗΣ", ["Σύμπλεγμα Θεσσαλονίκης"]),
    ("θεσσαλονικης", ["Σύμπλεγμα Θεσσαλονίκης"]), ("Symplegma", ["Σύμπλεγμα Θεσσαλονίκης"]),
    ("thekkingarklasi", ["Þekkingarklasi Reykjavíkur"]), ("Reykjavik", ["Þekkingarklasi Reykjavíkur"]),
    ("Reykjavík", ["Þekkingarklasi Reykjavíkur"]), ("is5501", ["Þekkingarklasi Reykjavíkur"]),
    ("Nova Cluster", []), ("Orbit", []),    # the old names: the folded column followed the renaming
]


def test_organisations_are_found_by_a_name_in_any_script_case_or_accent(named: Programme) -> None:
    answers = {q: sorted(_names(named, q)) for q, _ in FOUND}
    assert answers == dict(FOUND)


def test_the_exchange_is_found_by_its_visitors_name_however_typed(named: Programme) -> None:
    officer = named.principal(OFFICER)
    for q in ("Klaster", "Кластер", "КЛАСТЕР", "innova", "Иннова"):
        assert [x.ref for x in search_exchanges(named.app, officer, q=q).exchanges] == [named.exchange_ref], q


def test_the_exchange_is_still_found_by_its_reference_and_not_by_another_name(named: Programme) -> None:
    officer = named.principal(OFFICER)
    assert named.exchange_ref is not None
    assert [x.ref for x in search_exchanges(named.app, officer, q=named.exchange_ref.lower()).exchanges] == \
        [named.exchange_ref]
    for other in ("Reykjavik", "Kraków", "Krakow", "Orbit"):  # other organisations' names
        assert search_exchanges(named.app, officer, q=other).total == 0, other


def test_migration_0015_folds_the_organisations_already_stored_and_is_undone(database_url: str,
                                                                            tmp_path: Path) -> None:
    from alembic import command

    from workflows.db.base import make_engine
    from workflows.db.schema import MIGRATIONS, alembic_config

    engine = make_engine(database_url)
    try:
        with as_file(MIGRATIONS) as folder, engine.begin() as connection:
            config = alembic_config(database_url, str(folder))
            config.attributes["connection"] = connection
            command.upgrade(config, "0014_leases")
            connection.execute(text(
                "INSERT INTO organisations (legal_id, legal_name, org_type, cluster_member, host_prior_approval, "
                "country, city, latitude, longitude, sectors, contact_email) VALUES ('PL1', 'Klaster Łódzki', "
                "'sme', true, false, 'PL', 'Łódź', 51.7, 19.4, '[]', 'old@example.pl')"))
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    app = App(Settings(database_url=database_url, files_dir=tmp_path / "files"))
    try:
        with app.uow() as uow:
            assert uow.session.scalars(select(Organisation.search_fold)).one() == "klaster lodzki | pl1 | lodz"
    finally:
        app.close()
    engine = make_engine(database_url)
    try:
        with as_file(MIGRATIONS) as folder, engine.begin() as connection:
            config = alembic_config(database_url, str(folder))
            config.attributes["connection"] = connection
            command.downgrade(config, "0014_leases")
            columns = {c["name"] for c in inspect(connection).get_columns("organisations")}
            assert "search_fold" not in columns and "legal_name" in columns
            assert connection.execute(text("SELECT legal_name FROM organisations")).scalar_one() == "Klaster Łódzki"
    finally:
        engine.dispose()
