"""What each API endpoint returns. These classes are the whole of what the API
exposes: no email address, surname, postcode, IP or attribution ever appears
in them, and the OpenAPI document is generated from them."""

from datetime import datetime

from ninja import Schema
from pydantic import Field


class Recipient(Schema):
    name: str
    title: str
    organisation: str


class Demand(Schema):
    text: str


class Fact(Schema):
    text: str
    source_name: str
    source_detail: str


class PetitionText(Schema):
    """The petition's texts in one language."""

    language: str = Field(description="BCP 47 language code of these texts.")
    title: str
    headline: str
    summary: str
    body: str
    call_to_action: str
    demands: list[Demand]
    background: list[Fact]


class PetitionSummary(Schema):
    slug: str
    title: str
    summary: str
    state: str = Field(description="open, closed or paused.")
    count: int = Field(ge=0, description="Confirmed signatures counted publicly (up to a minute old).")
    goal: int = Field(ge=0, description="The current goal (the goal ladder's next step).")
    closes_at: datetime | None
    url: str


class PetitionDetail(PetitionSummary):
    outcome: str = Field(description="'', won, delivered or closed.")
    outcome_message: str
    texts: list[PetitionText]
    recipients: list[Recipient]


class CountryCount(Schema):
    country: str = Field(description="ISO 3166-1 alpha-2 code.")
    name: str
    count: int = Field(ge=0)


class Comment(Schema):
    first_name: str
    country: str
    comment: str
    created_at: datetime


class RecipientDelivery(Schema):
    """What became of the letters to one recipient (the public delivery ledger)."""

    recipient: Recipient
    sent: int = Field(ge=0, description="Letters the email service accepted.")
    delivered: int = Field(ge=0, description="Letters the recipient's mail server accepted.")
    bounced: int = Field(ge=0)
    held: int = Field(ge=0, description="Letters held back for now (a bounce being checked, paused, in review).")
    waiting: int = Field(ge=0, description="Letters queued to be sent at a steady pace.")
    failed: int = Field(ge=0)
    last_delivered_at: datetime | None


class RecipientResponse(Schema):
    """A recipient's reply, as staff approved it for publication."""

    recipient: Recipient | None
    received_at: datetime
    text: str
    note: str = Field(description="The campaign's word on it.")


class Delivery(Schema):
    recipients: list[RecipientDelivery]
    responses: list[RecipientResponse]


class Problem(Schema):
    detail: str
