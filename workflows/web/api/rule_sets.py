"""Rule-set versions (SPEC §14): every version with its values side by side (or two compared, their
differences marked), and a new version from a JSON body or an uploaded JSON file, checked and stored
once by its content."""
from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from workflows.services import Invalid
from workflows.services.admin_outputs import RuleSetAddedOut, RuleSetsOut
from workflows.web.deps import PLAIN_TEXT, AppDep, PrincipalDep
from workflows.web.errors import SIGNED_IN, answers

router = APIRouter(prefix="/rule-sets", responses=answers(*SIGNED_IN), tags=["rule sets"])

DOCUMENT = {"type": "object", "description": "the rule set's settings (`version` required; `base` names a stored "
                                             "version to start from; `note` is kept with it); see GET /api/rule-sets "
                                             "for the settings", "additionalProperties": True}
UPLOAD = {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": "a JSON file of the rule set's settings"},
    "note": {"type": "string", "maxLength": 2000}}}


@router.get("", response_model=RuleSetsOut)
def rule_sets(cxp: AppDep, principal: PrincipalDep,
              compare: Annotated[list[Annotated[str, Query(max_length=40, pattern=PLAIN_TEXT)]] | None,
                                 Query(max_length=10, description="versions to compare, e.g. compare=2025.1&"
                                                                  "compare=2026.1")] = None) -> RuleSetsOut:
    """Every version, newest first, and their values side by side (`differs` marks a setting whose
    values are not the same in all the versions shown)."""
    from workflows.services.rule_sets import list_rule_sets

    return list_rule_sets(cxp, principal, compare)


async def _document(request: Request) -> tuple[bytes | dict[str, Any], str | None]:
    """The rule set sent: a JSON body, or the `file` of a multipart form (with its `note`)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        form = await request.form()
        file, note = form.get("file"), form.get("note")
        if file is None or isinstance(file, str):
            raise Invalid.field("file", "choose the JSON file of the rule set")
        return await file.read(), note if isinstance(note, str) else None
    if kind != "application/json":
        raise Invalid.field("body", "send the rule set as a JSON body or as the file of a multipart form")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as err:
        raise Invalid.field("body", f"is not valid JSON ({err})"[:200]) from None
    if not isinstance(body, dict):
        raise Invalid.field("body", "must be one JSON object: the rule set's settings")
    return body, None  # a `note` in the document is the use case's to keep


@router.post("", response_model=RuleSetAddedOut, status_code=201, responses=answers(409),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": DOCUMENT}, "multipart/form-data": {"schema": UPLOAD}}}})
async def add(request: Request, response: Response, cxp: AppDep, principal: PrincipalDep) -> RuleSetAddedOut:
    """A new version, after its checks (no cap above EUR 1,100, every eligible country priced,
    thresholds consistent; each problem named, 422): 201. The same values as a stored version answer
    that version (200); a version name already used for other values is a conflict (409)."""
    from workflows.services.rule_sets import add_rule_set

    content, note = await _document(request)
    out = await run_in_threadpool(add_rule_set, cxp, principal, content, note)
    if not out.created:
        response.status_code = 200
    return out
