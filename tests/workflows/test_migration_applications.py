"""Migration 0013 on SQLite and PostgreSQL over a database with applications written before it: they
keep their values and get no preferred offers; the downgrade drops the column and keeps the rows."""
from __future__ import annotations

from importlib.resources import as_file

from sqlalchemy import inspect, text


def test_migration_0013_adds_preferred_offers_over_a_populated_database_and_undoes_it(database_url: str) -> None:
    from alembic import command

    from workflows.db.base import make_engine
    from workflows.db.schema import MIGRATIONS, alembic_config

    engine = make_engine(database_url)
    try:
        with as_file(MIGRATIONS) as folder, engine.begin() as connection:
            config = alembic_config(database_url, str(folder))
            config.attributes["connection"] = connection
            command.upgrade(config, "0012_programme_admin")
            connection.execute(text("INSERT INTO rule_sets (version, data, created_at) VALUES ('r', '{}', "
                                    "'2027-01-01 00:00:00')"))
            connection.execute(text("INSERT INTO partnerships (code, name, debtor_name, debtor_iban, country) "
                                    "VALUES ('P', 'P', 'P', 'BE68539007547034', 'BE')"))
            connection.execute(text(
                "INSERT INTO organisations (legal_id, legal_name, org_type, cluster_member, host_prior_approval, "
                "country, city, latitude, longitude, sectors, contact_email, partnership_id) VALUES ('BE1', 'Org', "
                "'sme', true, false, 'BE', 'Ghent', 51.0, 3.7, '[]', 'o@example.org', 1)"))
            connection.execute(text(
                "INSERT INTO calls (code, title, lead_partnership_id, opens_on, closes_on, matching_deadline, budget, "
                "rule_set_version, formats, status) VALUES ('C', 'C', 1, '2027-01-01', '2027-02-01', "
                "'2027-03-01 00:00:00', 1000, 'r', '[]', 'open')"))
            connection.execute(text(
                "INSERT INTO applications (call_id, organisation_id, partnership_id, role, format, date_from, date_to, "
                "sectors, wished_countries, capacity, topics, activities_offered, motivation, declaration_given, "
                "audit_rights_accepted, submitted_at, status) VALUES (1, 1, 1, 'visitor', 'exchange_visit', "
                "'2027-02-01', '2027-02-10', '[]', '[]', 0, '[]', '[]', 'm', true, true, '2027-01-02 00:00:00', "
                "'submitted')"))
            command.upgrade(config, "0013_applications")
            assert connection.execute(text("SELECT motivation, preferred_offers FROM applications")).one() == ("m", None)
            command.downgrade(config, "0012_programme_admin")
            assert "preferred_offers" not in {c["name"] for c in inspect(connection).get_columns("applications")}
            assert connection.execute(text("SELECT motivation FROM applications")).scalar_one() == "m"
    finally:
        engine.dispose()
