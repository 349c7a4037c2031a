"""Data of the petition service: petitions, their recipients, signatures, the
letters sent on the signers' behalf, and the outbox of work to do after commit.

Writes live in `petitions.services`; this module only describes data, its
constraints and small read-only query helpers.
"""

from petitions.models.content import BackgroundFact, ConsentWording, Demand, Petition, Target
from petitions.models.delivery import (
    OUTCOME_RANK,
    EspEvent,
    Letter,
    LetterQuerySet,
    Mailing,
    MailingRecipient,
    Outbox,
    Suppression,
)
from petitions.models.digests import Digest
from petitions.models.offline import HandoverPack, OfflineBatch
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
from petitions.models.replies import AutoReply, RecipientReply, RecipientReplyQuerySet, ReplyAttachment
from petitions.models.signatures import FlaggedSignature, Signature, SignatureQuerySet, SignerComment
from petitions.models.translations import (
    BackgroundFactTranslation,
    DemandTranslation,
    MailingTranslation,
    PetitionTranslation,
)

__all__ = [
    "OUTCOME_RANK",
    "AutoReply",
    "BackgroundFact",
    "BackgroundFactTranslation",
    "BlockedSource",
    "ConsentWording",
    "Demand",
    "DemandTranslation",
    "Digest",
    "DisposableDomain",
    "Erasure",
    "EspEvent",
    "FlaggedSignature",
    "HandoverPack",
    "Letter",
    "LetterQuerySet",
    "Mailing",
    "MailingRecipient",
    "MailingTranslation",
    "ModerationDecision",
    "OfflineBatch",
    "Organisation",
    "Outbox",
    "Petition",
    "PetitionTranslation",
    "RateLimit",
    "RecipientReply",
    "RecipientReplyQuerySet",
    "ReplyAttachment",
    "RepeatAttempt",
    "Signature",
    "SignatureExport",
    "SignatureQuerySet",
    "SignerComment",
    "Suppression",
    "Target",
]
