"""The registration form of SPEC §13, one pydantic model for the page, the validation and the API
(`POST /api/registrations`), and the answers. What the form alone can judge is judged here (lengths, an
ISO country, a subdivision the holidays library knows for it, a city of that country from the list,
the password's length); what needs the database (a legal id or username already used, the
partnership) is judged by `registrations.problems`, which names each field the same way."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo, field_validator

from workflows.services import FieldError, Invalid

Text40 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]*$"  # as workflows.services.accounts
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ORG_TYPES = ("cluster_organisation", "sme", "scaleup_support_organisation")


class RegistrationIn(BaseModel):
    """An organisation and its first user, as the person registering fills them in."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    legal_name: str = Field(min_length=2, max_length=200, description="the organisation's legal name")
    legal_id: str = Field(min_length=3, max_length=40, description="its registration or VAT number (unique)")
    org_type: Literal["cluster_organisation", "sme", "scaleup_support_organisation"]
    country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. DE")
    subdivision: str | None = Field(None, max_length=10,
                                    description="a region code the public-holiday calendar knows, e.g. BY")
    city_id: int = Field(ge=1, description="the GeoNames id of the city, from GET /api/places/cities?country=XX")
    sectors: list[Text40] = Field(default_factory=list, max_length=10)
    cluster_member: bool = Field(False, description="a member of a cluster profiled on the ECCP")
    contact_email: str = Field(max_length=254, pattern=EMAIL, description="where the programme writes to")
    partnership: str = Field(min_length=2, max_length=40, description="the code of the partnership that assesses it")
    name: str = Field(min_length=1, max_length=200, description="the first user's full name")
    email: str = Field(max_length=254, pattern=EMAIL, description="the first user's email address")
    username: str | None = Field(None, min_length=2, max_length=80, pattern=USERNAME,
                                 description="the first user's username (default: from the email address)")
    password: str = Field(max_length=1024, description="the first user's password", repr=False)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        from rules.errors import RuleInputError
        from rules.values import normalise_country

        try:
            return normalise_country("country", value)
        except RuleInputError as err:
            raise ValueError(err.message) from None

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """No NUL character in any text (PostgreSQL cannot store one; no person types one)."""
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and "\x00" in t for t in texts):
            raise ValueError("must not contain a NUL character")
        return value

    @field_validator("subdivision", "username", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("subdivision")
    @classmethod
    def _subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A subdivision of the country that the holidays library knows (judged once the country is)."""
        from rules.errors import RuleInputError
        from rules.working_days import normalise_subdivision

        country = info.data.get("country")
        try:
            return value if value is None or country is None else normalise_subdivision(country, value)
        except RuleInputError as err:
            raise ValueError(err.message) from None

    @field_validator("city_id")
    @classmethod
    def _city(cls, value: int, info: ValidationInfo) -> int:
        """A city of the list, in the country (judged once the country is)."""
        from workflows.services.places import city

        found = city(value)
        if found is None:
            raise ValueError(f"{value} is not a city of the list; pick one for the country")
        country = info.data.get("country")
        if country is not None and found.country != country:
            raise ValueError(f"{found.name} is in {found.country}, not in {country}")
        return value

    def city(self) -> tuple[str, float, float]:
        """The chosen city's name and coordinates (checked by the model)."""
        from workflows.services.places import city

        found = city(self.city_id)
        assert found is not None
        return found.name, found.latitude, found.longitude

    def derived_username(self) -> str:
        """The username chosen, else the email address's local part in the allowed characters."""
        import re

        if self.username:
            return self.username
        local = re.sub(r"[^A-Za-z0-9._-]", "", self.email.split("@", 1)[0]).lstrip("._-")
        return (local or "applicant")[:60]


class RegistrationOut(BaseModel):
    organisation: str = Field(description="the organisation's legal id")
    username: str
    status: Literal["pending_verification"] = "pending_verification"


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                       description="the token of the link in the email")


class VerificationOut(BaseModel):
    organisation: str = Field(description="the organisation's legal id")
    legal_name: str
    username: str
    status: str
    partnership: str = Field(description="the name of the partnership that assesses the registration")
    verified_at: datetime
    next_step: str = Field(description="what happens next, in a sentence")


def _message(error: Any) -> str:
    from rules.errors import RuleInputError

    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, RuleInputError):
        return cause.message
    if error["type"] == "string_pattern_mismatch":
        return ("letters, digits and . _ @ - only, starting with a letter or digit"
                if error["loc"][-1:] == ("username",) else "is not an email address")
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "literal_error":
        return f"must be one of {', '.join(ORG_TYPES)}"
    if error["type"] in ("string_too_short", "string_too_long"):
        limit = error["ctx"].get("min_length", error["ctx"].get("max_length"))
        if error["type"] == "string_too_short" and limit == 1:
            return "is required"
        return f"must be at {'least' if error['type'] == 'string_too_short' else 'most'} {limit} characters"
    return str(error["msg"]).removeprefix("Value error, ")


def field_errors(err: ValidationError) -> list[FieldError]:
    """Each wrong field of a `ValidationError` of `RegistrationIn`, in sentences for a person."""
    return [FieldError(tuple(str(p) for p in e["loc"][:1]) or ("",), _message(e))
            for e in err.errors(include_url=False)]


def parse_registration(data: dict[str, Any]) -> RegistrationIn:
    """The form's values as the one model, or `Invalid` naming each field as the page shows it."""
    try:
        return RegistrationIn.model_validate(data)
    except ValidationError as err:
        fields = field_errors(err)
        raise Invalid("; ".join(f"{f.field}: {f.msg}" for f in fields), fields) from None
