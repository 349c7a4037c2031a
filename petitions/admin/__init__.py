"""Staff tools. One ModelAdmin per model; every action calls a service."""

# Importing the submodules registers their ModelAdmins, in the order they were
# written; the names are re-exported so `from petitions.admin import ...` keeps working.
# The staff pages that are not one model's register on the site when imported.
from petitions.admin import dashboard, exports, offline  # noqa: E402, F401
from petitions.admin.content import (
    BackgroundFactInline,
    ConsentWordingAdmin,
    DemandInline,
    PetitionAdmin,
    TargetAdmin,
)
from petitions.admin.delivery import EspEventAdmin, LetterAdmin, OutboxAdmin, SuppressionAdmin
from petitions.admin.digests import DigestAdmin
from petitions.admin.mailings import MailingAdmin
from petitions.admin.records import RecordAdmin
from petitions.admin.replies import AutoReplyAdmin, RecipientReplyAdmin
from petitions.admin.safety import BlockedSourceAdmin, ErasureAdmin, ModerationDecisionAdmin, RateLimitAdmin
from petitions.admin.signatures import (
    BulkInvalidationForm,
    CountBeyond,
    FilteredCountPaginator,
    FlaggedFilter,
    FlaggedSignatureAdmin,
    ReasonActionForm,
    SignatureAdmin,
    SignerCommentAdmin,
)
from petitions.admin.translations import PetitionTranslationAdmin

__all__ = [
    "AutoReplyAdmin",
    "BackgroundFactInline",
    "BlockedSourceAdmin",
    "BulkInvalidationForm",
    "ConsentWordingAdmin",
    "CountBeyond",
    "DemandInline",
    "DigestAdmin",
    "ErasureAdmin",
    "EspEventAdmin",
    "FilteredCountPaginator",
    "FlaggedFilter",
    "FlaggedSignatureAdmin",
    "LetterAdmin",
    "MailingAdmin",
    "ModerationDecisionAdmin",
    "OutboxAdmin",
    "PetitionAdmin",
    "PetitionTranslationAdmin",
    "RateLimitAdmin",
    "ReasonActionForm",
    "RecipientReplyAdmin",
    "RecordAdmin",
    "SignatureAdmin",
    "SignerCommentAdmin",
    "SuppressionAdmin",
    "TargetAdmin",
]
