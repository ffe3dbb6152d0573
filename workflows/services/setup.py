"""`cxp init`: create or upgrade the schema, load the rule sets and deploy the process versions."""
from __future__ import annotations

from typing import Any

from rules.ruleset import SHIPPED as KNOWN_VERSIONS
from rules.ruleset import get_rule_set, rule_set_digest, rule_set_to_dict
from workflows.app import App
from workflows.audit import SYSTEM
from workflows.db.models import RuleSetRecord
from workflows.db.schema import upgrade
from workflows.services.audit_trail import identify_database


def init_database(app: App) -> dict[str, Any]:
    upgrade(app.db)
    with app.uow() as uow:
        loaded = []
        for version in KNOWN_VERSIONS:
            if uow.session.get(RuleSetRecord, version) is None:
                shipped = get_rule_set(version)
                data = rule_set_to_dict(shipped)
                uow.session.add(RuleSetRecord(version=version, data=data, created_at=uow.now(),
                                              sha256=rule_set_digest(shipped), note="shipped with the product"))
                uow.audit(SYSTEM, "rule_set_loaded", subject=f"rule_set:{version}", after=data)
                loaded.append(version)
        identify_database(uow)  # once: the id the audit anchors name (services/audit_trail.py)
        deployed = app.library.deploy(uow.session, uow.now())
        for d in deployed:
            uow.audit(SYSTEM, "process_deployed", subject=f"process:{d.process_id}",
                      after={"version": d.version, "sha256": d.sha256})
        uow.commit()
    return {
        "database": app.db.url.render_as_string(hide_password=True),
        "rule_sets_loaded": loaded,
        "processes_deployed": [{"process": d.process_id, "version": d.version} for d in deployed],
    }


def schema_problem(app: App) -> str | None:
    """Why this database cannot be served as it is (not initialised, or not at this version's schema),
    in a sentence with what to run; None when it is ready (`cxp serve` checks it before serving)."""
    from workflows.db.schema import schema_problem as problem_of

    return problem_of(app.db)


def check_database(app: App) -> None:
    """Connect once to the database server; `DatabaseUnavailable` with a sentence naming the server or
    the database when that fails (a SQLite file was checked when the application opened it)."""
    from workflows.db.base import check_connection

    check_connection(app.db)


def database_health(app: App) -> tuple[str, str | None]:
    """(the database's dialect, None when it answers a query on the product's tables, else the problem
    in one line)."""
    from sqlalchemy import text

    dialect = app.db.dialect.name
    try:
        with app.db.connect() as connection:
            connection.execute(text("SELECT 1 FROM process_instances WHERE 0 = 1"))
    except Exception as err:  # noqa: BLE001 - any failure to answer is the health check's finding
        return dialect, " ".join(str(getattr(err, "orig", None) or err).split())[:200]
    return dialect, None
