"""Files a person downloads through the web, for a principal who may see them: a payment batch's
pain.001 and CSV summary (rebuilt from the database, the same bytes as committed) and the BPMN
diagram an instance runs (the deployed version it started on)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from workflows.app import App
from workflows.services import ServiceError
from workflows.services.access import Principal, visible_batch, visible_instance


class Download(BaseModel):
    filename: str
    media_type: str
    content: bytes
    sha256: str


def batch_file(app: App, principal: Principal, batch_ref: str, kind: Literal["xml", "csv"]) -> Download:
    """The batch's pain.001 (`xml`) or its CSV summary (`csv`), checked against the committed hash."""
    from workflows.services.payment_files import rebuild

    with app.uow() as uow:
        batch = visible_batch(uow, principal, batch_ref)
        files = rebuild(app, uow, batch)
    if kind == "xml":
        return Download(filename=files.xml_path.name, media_type="application/xml", content=files.xml,
                        sha256=files.xml_sha256)
    return Download(filename=files.csv_path.name, media_type="text/csv; charset=utf-8", content=files.csv,
                    sha256=files.csv_sha256)


def instance_diagram(app: App, principal: Principal, instance_id: int) -> Download:
    """The BPMN XML of the process version the instance runs."""
    import hashlib

    from workflows.db.process_models import ProcessDefinition

    with app.uow() as uow:
        instance = visible_instance(uow, principal, instance_id)
        definition = uow.session.get(ProcessDefinition, instance.definition_id)
        if definition is None:  # pragma: no cover - a foreign key
            raise ServiceError(f"instance {instance_id} has no deployed process version")
        xml = definition.bpmn_xml.encode("utf-8")
        return Download(filename=definition.filename, media_type="application/xml", content=xml,
                        sha256=hashlib.sha256(xml).hexdigest())
