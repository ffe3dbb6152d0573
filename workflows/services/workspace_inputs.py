"""What a person gives for the actions on a running exchange and for a conflict of interest: one
model per form, used by the page, the API and the validation alike (the CLI passes the same fields)."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Cancel the exchange")

    reason: Reason = Field(title="Reason", description="why it is cancelled (kept in the exchange's history)")


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Ask to extend the visit")

    departure: date = Field(title="New departure date", description="after the planned departure; the whole "
                            "stay stays within one month (R-DUR)")
    reason: Reason = Field(title="Reason", description="why the visit needs longer")


class ExtensionDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Decide the extension")

    approve: bool = Field(title="Approve", description="true to extend the stay, false to refuse it")
    comment: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=2000)] = Field(
        None, title="Comment", description="required when refusing")


class ConflictIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Declare a conflict of interest")

    organisation: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] = Field(
        title="Organisation", description="the organisation's legal id (as listed)")
    reason: Reason = Field(title="Reason", description="why: kept in the audit trail")
