"""Migration 0016 on SQLite and PostgreSQL over a database with organisations written before it: each is
approved (imported and demo organisations apply as before); a registration's status outside the named
ones is refused by the database; the downgrade drops the tables and the column and keeps the rows."""
from __future__ import annotations

from importlib.resources import as_file

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError


def test_migration_0016_approves_existing_organisations_and_undoes_it(database_url: str) -> None:
    from alembic import command

    from workflows.db.base import make_engine
    from workflows.db.schema import MIGRATIONS, alembic_config

    engine = make_engine(database_url)
    try:
        with as_file(MIGRATIONS) as folder, engine.begin() as connection:
            config = alembic_config(database_url, str(folder))
            config.attributes["connection"] = connection
            command.upgrade(config, "0015_search_fold")
            connection.execute(text("INSERT INTO partnerships (code, name, debtor_name, debtor_iban, country) "
                                    "VALUES ('P', 'P', 'P', 'BE68539007547034', 'BE')"))
            connection.execute(text(
                "INSERT INTO organisations (legal_id, legal_name, org_type, cluster_member, host_prior_approval, "
                "country, city, latitude, longitude, sectors, contact_email, partnership_id) VALUES ('BE1', 'Org', "
                "'sme', true, false, 'BE', 'Ghent', 51.0, 3.7, '[]', 'o@example.org', 1)"))
            connection.execute(text("INSERT INTO users (username, display_name, email, role, organisation_id, active) "
                                    "VALUES ('u', 'U', 'u@example.org', 'applicant', 1, true)"))
            command.upgrade(config, "0016_registrations")
            assert connection.execute(text("SELECT registration_status FROM organisations")).scalar_one() == "approved"
            insert = ("INSERT INTO registrations (organisation_id, partnership_id, user_id, status, token_expires_at, "
                      "created_at) VALUES (1, 1, 1, :status, '2027-01-03 00:00:00', '2027-01-01 00:00:00')")
            with pytest.raises(IntegrityError), connection.begin_nested():
                connection.execute(text(insert), {"status": "maybe"})
            with pytest.raises(IntegrityError), connection.begin_nested():
                connection.execute(text("UPDATE organisations SET registration_status = 'maybe'"))
            connection.execute(text(insert), {"status": "verified"})
            command.downgrade(config, "0015_search_fold")
            tables = set(inspect(connection).get_table_names())
            assert not {"registrations", "request_counts"} & tables
            assert "registration_status" not in {c["name"] for c in inspect(connection).get_columns("organisations")}
            assert connection.execute(text("SELECT legal_id FROM organisations")).scalar_one() == "BE1"
    finally:
        engine.dispose()
