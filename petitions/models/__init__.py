"""Data of the petition service: petitions, their recipients, signatures, the
letters sent on the signers' behalf, and the outbox of work to do after commit.

Writes live in `petitions.services`; this module only describes data, its
constraints and small read-only query helpers.
"""

from petitions.models.content import BackgroundFact, ConsentWording, Demand, Petition, Target
from petitions.models.delivery import EspEvent, Letter, LetterQuerySet, Mailing, MailingRecipient, Outbox, Suppression
from petitions.models.organisation import Organisation
from petitions.models.records import (
    BlockedSource,
    DisposableDomain,
    Erasure,
    ModerationDecision,
    RateLimit,
    RepeatAttempt,
    SignatureExport,
)
from petitions.models.signatures import FlaggedSignature, Signature, SignatureQuerySet, SignerComment

__all__ = [
    "BackgroundFact",
    "BlockedSource",
    "ConsentWording",
    "Demand",
    "DisposableDomain",
    "Erasure",
    "EspEvent",
    "FlaggedSignature",
    "Letter",
    "LetterQuerySet",
    "Mailing",
    "MailingRecipient",
    "ModerationDecision",
    "Organisation",
    "Outbox",
    "Petition",
    "RateLimit",
    "RepeatAttempt",
    "Signature",
    "SignatureExport",
    "SignatureQuerySet",
    "SignerComment",
    "Suppression",
    "Target",
]
