"""Registration of an organisation (SPEC §13), without sign-in: `POST /api/registrations` (201
`{organisation, username, status: "pending_verification"}`), `POST /api/registrations/verify` with the
token of the emailed link, and `GET /api/places/cities?country=XX`, the cities to pick from with their
coordinates. Registrations are rate-limited per client address (429)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from workflows.services.places import CityOut
from workflows.services.registration_inputs import RegistrationIn, RegistrationOut, VerificationOut, VerifyIn
from workflows.web.deps import AppDep
from workflows.web.errors import answers

router = APIRouter(tags=["registration"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/registrations", response_model=RegistrationOut, status_code=201, responses=answers(422, 429))
def register(body: RegistrationIn, request: Request, cxp: AppDep) -> RegistrationOut:
    """Register an organisation and its first user; a one-use link valid 48 hours is mailed to the
    contact address. Each wrong field is named (422), nothing written; too many from one address: 429."""
    from workflows.services.registrations import register as register_organisation

    return register_organisation(cxp, body, client_address(request))


@router.post("/registrations/verify", response_model=VerificationOut, responses=answers(422))
def verify(body: VerifyIn, cxp: AppDep) -> VerificationOut:
    """Use the emailed link's token once: the address is verified and the partnership assesses the
    registration. A used or expired token: 422 saying which (an expired one sends a new link)."""
    from workflows.services.registrations import verify as verify_address

    return verify_address(cxp, body.token)


@router.get("/places/cities", response_model=list[CityOut], responses=answers(422))
def cities(country: Annotated[str, Query(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")]) -> list[CityOut]:
    """The cities of a country to pick from (GeoNames, at least 15,000 people), by name, with coordinates."""
    from workflows.services.places import cities as cities_of

    return cities_of(country)
