"""Migration 0012 on SQLite and PostgreSQL, over a database written before it: the rule sets already
stored get the digest of their values (so that a new version with the same values is answered, not
stored twice), the organisations stay active, the calls keep their values."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, text

from rules.ruleset import SHIPPED, rule_set_digest, rule_set_to_dict
from workflows.app import App
from workflows.db.models import Organisation, RuleSetRecord
from workflows.services.access import SYSTEM
from workflows.services.rule_sets import add_rule_set
from workflows.settings import Settings


def test_migration_0012_gives_stored_rule_sets_their_digest_and_keeps_organisations_active(
        database_url: str, tmp_path: Path) -> None:
    from importlib.resources import as_file

    from alembic import command

    from workflows.db.base import make_engine
    from workflows.db.schema import MIGRATIONS, alembic_config

    engine = make_engine(database_url)
    try:
        with as_file(MIGRATIONS) as folder, engine.begin() as connection:
            config = alembic_config(database_url, str(folder))
            config.attributes["connection"] = connection
            command.upgrade(config, "0011_web_sessions")
            connection.execute(text("INSERT INTO rule_sets (version, data, created_at) VALUES (:v, :d, :t)"),
                               {"v": "2026.1", "d": json.dumps(rule_set_to_dict(SHIPPED["2026.1"])),
                                "t": "2027-01-01 00:00:00"})
            connection.execute(text("INSERT INTO partnerships (code, name, debtor_name, debtor_iban, country) "
                                    "VALUES ('P', 'P', 'P', 'BE68539007547034', 'BE')"))
            connection.execute(text(
                "INSERT INTO organisations (legal_id, legal_name, org_type, cluster_member, host_prior_approval, "
                "country, city, latitude, longitude, sectors, contact_email) VALUES ('BE1', 'Old Org', "
                "'sme', true, false, 'BE', 'Ghent', 51.0, 3.7, '[]', 'old@example.org')"))
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    app = App(Settings(database_url=database_url, files_dir=tmp_path / "files"))
    try:
        with app.uow() as uow:
            stored = uow.session.get(RuleSetRecord, "2026.1")
            assert stored is not None and stored.sha256 == rule_set_digest(SHIPPED["2026.1"])
            org = uow.session.scalars(select(Organisation)).one()
            assert (org.active, org.deactivated_reason) == (True, None)
        again = add_rule_set(app, SYSTEM, {"version": "2026.1-again", "base": "2026.1"})
        assert not again.created and again.version.version == "2026.1"
    finally:
        app.close()
