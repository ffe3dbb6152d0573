"""Sign-in for programs: the OAuth2 password flow (SPEC §10), and who the token belongs to."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from workflows.web.deps import AppDep, PrincipalDep, client_of
from workflows.web.errors import answers

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenAnswer(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


class MeOut(BaseModel):
    user_id: int | None
    username: str
    display_name: str
    role: str
    partnership_id: int | None
    organisation_id: int | None


@router.post("/token", response_model=TokenAnswer,
             responses=answers(401, 422, 429))
def token(request: Request, cxp: AppDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenAnswer:
    """Exchange a username and password for a bearer token (sign-ins and failures are audited)."""
    from workflows.services.accounts import authenticate, issue_token

    principal = authenticate(cxp, form.username, form.password, source=client_of(request))
    issued = issue_token(cxp, principal, principal.username, name="api")
    return TokenAnswer(access_token=issued.token, expires_at=issued.expires_at)


@router.get("/me", response_model=MeOut, responses=answers(401))
def me(principal: PrincipalDep) -> MeOut:
    """The principal the bearer token stands for."""
    return MeOut(user_id=principal.user_id, username=principal.username, display_name=principal.display_name,
                 role=principal.role, partnership_id=principal.partnership_id,
                 organisation_id=principal.organisation_id)
