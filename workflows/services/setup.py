"""`cxp init`: create or upgrade the schema, load the rule sets and deploy the process versions."""
from __future__ import annotations

from typing import Any

from rules.ruleset import SHIPPED as KNOWN_VERSIONS, get_rule_set, rule_set_to_dict
from workflows.app import App
from workflows.audit import SYSTEM
from workflows.db.models import RuleSetRecord
from workflows.db.schema import upgrade


def init_database(app: App) -> dict[str, Any]:
    upgrade(app.db)
    with app.uow() as uow:
        loaded = []
        for version in KNOWN_VERSIONS:
            if uow.session.get(RuleSetRecord, version) is None:
                data = rule_set_to_dict(get_rule_set(version))
                uow.session.add(RuleSetRecord(version=version, data=data, created_at=uow.now()))
                uow.audit(SYSTEM, "rule_set_loaded", subject=f"rule_set:{version}", after=data)
                loaded.append(version)
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
