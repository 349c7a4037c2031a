"""Signatures: one per mailbox and petition, what the signer consented to, and
the review queues staff see them in."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries.fields import CountryField

from petitions.models.content import ConsentWording, Petition


class SignatureQuerySet(models.QuerySet):
    def counted(self):
        """Confirmed and not held for review: a flagged signature counts once a moderator approves it."""
        return self.filter(state=Signature.State.CONFIRMED, flag_reason="")

    def flagged(self):
        """Awaiting review: held before any email (pending), or flagged after confirming."""
        return self.exclude(flag_reason="").exclude(state=Signature.State.INVALIDATED)


class Signature(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        INVALIDATED = "invalidated", "Invalidated"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Every signature writes each of its indexes, so no foreign key here has
    # one of its own: the petition leads three composite indexes below, and
    # consent wordings and moderation decisions are never deleted (the admin
    # refuses), the only thing an index on them would serve.
    petition = models.ForeignKey(Petition, on_delete=models.PROTECT, related_name="signatures", db_index=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254, help_text="As the signer typed it, trimmed.")
    email_normalized = models.CharField(max_length=254, editable=False)
    country = CountryField()
    postcode = models.CharField(max_length=16, blank=True)
    # The language of the page they signed on: every email to them is in it.
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)

    # Always set online (the form requires it); a paper signature has it only
    # when its paper form carried the letter consent and the box was ticked.
    letter_consent = models.ForeignKey(
        ConsentWording, on_delete=models.PROTECT, related_name="+", db_index=False, null=True, blank=True
    )
    reply_consent = models.ForeignKey(
        ConsentWording, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False,
        help_text="Set when the signer let recipients reply to them.",
    )
    updates_consent = models.ForeignKey(
        ConsentWording, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False,
        help_text="Set when the signer asked for campaign updates.",
    )

    created_at = models.DateTimeField(default=timezone.now, help_text="When the signer signed and consented.")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)
    invalidated_reason = models.CharField(max_length=300, blank=True)
    repeat_notices_sent = models.PositiveSmallIntegerField(default=0)
    reminders_sent = models.PositiveSmallIntegerField(default=0)

    # Anti-abuse. The IP address itself is never stored: only a keyed hash,
    # kept while the rate limits and moderation need it, then cleared.
    ip_hash = models.CharField(max_length=64, blank=True)
    email_domain = models.CharField(max_length=254, blank=True)
    # Why the signature was held back silently (over a limit, blocklisted):
    # no email is sent and nothing counts until a moderator approves it.
    flag_reason = models.CharField(max_length=200, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    last_decision = models.ForeignKey(
        "ModerationDecision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    class CommentState(models.TextChoices):
        NONE = "", "No comment"
        PENDING = "pending", "Awaiting review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    # Set on signatures collected on paper (or offline) and entered by staff.
    # Indexed only where set, so online signatures write no index for it.
    offline_batch = models.ForeignKey(
        "OfflineBatch", on_delete=models.PROTECT, null=True, blank=True, related_name="signatures", db_index=False
    )
    # Where the signature came from: the `source` and UTM parameters of the
    # address the signer arrived at, the site that embedded the form, the
    # referral code of the supporter whose link they followed, and the code
    # this signer's own share links carry.
    source = models.CharField(max_length=100, blank=True, default="")
    utm_source = models.CharField(max_length=100, blank=True, default="")
    utm_medium = models.CharField(max_length=100, blank=True, default="")
    utm_campaign = models.CharField(max_length=100, blank=True, default="")
    embed_site = models.CharField(max_length=200, blank=True, default="")
    referred_by = models.CharField(max_length=16, blank=True, default="")
    referral_code = models.CharField(max_length=16, blank=True, default="")

    comment = models.TextField(max_length=500, blank=True)
    comment_state = models.CharField(max_length=20, choices=CommentState.choices, blank=True, default="")

    objects = SignatureQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("export_signature", "Can export signatures to CSV"),
            ("view_signer_email", "Can see signers' email addresses"),
            ("erase_signature", "Can erase a signer's personal data"),
            ("moderate_signature", "Can approve or invalidate signatures and comments"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["petition", "email_normalized"], name="signature_one_per_email"),
            models.CheckConstraint(
                condition=models.Q(email_normalized=Lower(models.F("email_normalized"))),
                name="signature_email_normalized_lowercase",
            ),
        ]
        indexes = [
            models.Index(fields=["petition", "state"], name="signature_petition_state"),
            models.Index(fields=["created_at", "state"], name="signature_created"),
            models.Index(fields=["country"], name="signature_country"),
            models.Index(
                fields=["created_at"], name="signature_pending_created", condition=models.Q(state="pending")
            ),
            models.Index(fields=["email_normalized"], name="signature_email"),
            models.Index(fields=["ip_hash", "created_at"], name="signature_ip_window"),
            models.Index(fields=["email_domain", "created_at"], name="signature_domain_window"),
            models.Index(
                fields=["flagged_at"], name="signature_flagged",
                condition=models.Q(state="pending") & ~models.Q(flag_reason=""),
            ),
            models.Index(
                fields=["offline_batch"], name="signature_offline_batch",
                condition=models.Q(offline_batch__isnull=False),
            ),
            models.Index(
                fields=["comment_state"], name="signature_comment_pending",
                condition=models.Q(comment_state="pending"),
            ),
            # The public page lists the newest approved comments; without this
            # it scanned every signature whenever fewer than ten were approved.
            models.Index(
                fields=["petition", "-created_at"], name="signature_comment_shown",
                condition=models.Q(comment_state="approved"),
            ),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.get_state_display()})"

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}"

    @property
    def is_offline(self):
        return self.offline_batch_id is not None

    @property
    def allows_reply(self):
        return self.reply_consent_id is not None

    @property
    def wants_updates(self):
        return self.updates_consent_id is not None


class FlaggedSignature(Signature):
    """The review queue: signatures flagged by the limits, the blocklist or staff."""

    class Meta:
        proxy = True
        verbose_name = "flagged signature (review queue)"
        verbose_name_plural = "flagged signatures (review queue)"


class SignerComment(Signature):
    """The queue of signers' comments awaiting review before they are shown."""

    class Meta:
        proxy = True
        verbose_name = "comment awaiting review"
        verbose_name_plural = "comments awaiting review"
