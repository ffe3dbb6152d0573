"""The accounts of the HTTP API: ending every session of a user ("sign out everywhere")."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from workflows.services.sessions import SessionsEnded
from workflows.web.deps import PLAIN_TEXT, AppDep, PrincipalDep
from workflows.web.errors import answers

router = APIRouter(prefix="/users", tags=["users"])

Username = Annotated[str, Path(max_length=80, pattern=PLAIN_TEXT, description="the user's username")]


@router.post("/{username}/end-sessions", response_model=SessionsEnded, responses=answers(401, 403, 404))
def end_sessions(cxp: AppDep, principal: PrincipalDep, username: Username) -> SessionsEnded:
    """End every web session of the user and revoke every API token of theirs, at once — the one this
    call is made with too, when it is theirs. The user themself or an administrator (the refusal of
    anyone else is audited)."""
    from workflows.services.accounts import end_sessions as end

    return end(cxp, principal, username)
