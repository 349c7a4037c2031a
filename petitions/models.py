"""Data of the petition service: petitions, their recipients, signatures, the
letters sent on the signers' behalf, and the outbox of work to do after commit.

Writes live in `petitions.services`; this module only describes data, its
constraints and small read-only query helpers.
"""

import uuid

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries.fields import CountryField


class Petition(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    headline = models.CharField(max_length=300, blank=True, help_text="The line under the title.")
    summary = models.CharField(max_length=300, blank=True, help_text="One line, shown first.")
    body = models.TextField(help_text="The facts, as the petition's author wrote them. Paragraphs separated by blank lines.")
    call_to_action = models.CharField(max_length=300, blank=True)
    further_reading = models.TextField(blank=True, help_text="Titles of further reading, one per line.")
    letter_subject = models.CharField(max_length=200)
    letter_greeting = models.CharField(max_length=300, help_text="The letter's opening line, e.g. 'Dear ...,'")
    letter_body = models.TextField(help_text="The letter up to its demands. Paragraphs separated by blank lines.")
    letter_demands_intro = models.CharField(max_length=300, blank=True)
    letter_closing = models.CharField(max_length=100, default="Yours sincerely,")
    goal = models.PositiveIntegerField(default=10000)
    is_open = models.BooleanField(default=True, help_text="Closed petitions show their text but take no signatures.")
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    signing_paused = models.BooleanField(default=False, help_text="Stop taking signatures for now.")
    signing_paused_message = models.CharField(
        max_length=300, blank=True, default="Signing is paused for a short while. Please come back later."
    )
    letters_paused = models.BooleanField(default=False, help_text="Hold all letters of this petition for now.")
    letters_paused_message = models.CharField(
        max_length=300, blank=True, default="Letters to the recipients are paused for now; yours will go out later."
    )
    targets = models.ManyToManyField("Target", related_name="petitions", blank=True, verbose_name="recipients")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.title

    def body_paragraphs(self):
        return _paragraphs(self.body)

    def letter_paragraphs(self):
        return _paragraphs(self.letter_body)

    def further_reading_lines(self):
        return [line.strip() for line in self.further_reading.splitlines() if line.strip()]


def _paragraphs(text):
    return [part.strip() for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]


class Demand(models.Model):
    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="demands")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.text[:80]


class BackgroundFact(models.Model):
    """A fact of the campaign's background, in our words, with its source named."""

    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="background_facts")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()
    source_name = models.CharField(max_length=200)
    source_detail = models.CharField(max_length=300, blank=True, help_text="Date or title of the source.")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.text[:80]


class Target(models.Model):
    """A named recipient of the petition's letter."""

    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    is_active = models.BooleanField(default=True, help_text="Inactive recipients are sent no new letters.")
    hourly_cap = models.PositiveIntegerField(
        default=120, help_text="At most this many letters are sent to this recipient in any hour."
    )
    # Set when the ESP reports that this address bounced or complained: its
    # letters stay queued instead of being burnt on a dead address, until
    # staff fix the address and clear the hold.
    bounce_held_since = models.DateTimeField(null=True, blank=True)
    bounce_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "recipient"

    def __str__(self):
        return f"{self.name}, {self.title}" if self.title else self.name


class ConsentWording(models.Model):
    """One version of the words a signer agrees to, kept for ever once used."""

    class Kind(models.TextChoices):
        LETTER = "letter", "Send the letter in my name"
        REPLY = "reply", "Recipients may reply to me"
        UPDATES = "updates", "Campaign updates"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="consent_kind_version_unique")]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.version}"


class SignatureQuerySet(models.QuerySet):
    def counted(self):
        return self.filter(state=Signature.State.CONFIRMED)

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
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)

    letter_consent = models.ForeignKey(ConsentWording, on_delete=models.PROTECT, related_name="+", db_index=False)
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
            models.Index(fields=["comment_state"], name="signature_comment_pending", condition=models.Q(comment_state="pending")),
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


class LetterQuerySet(models.QuerySet):
    def sent_to_in_last_hour(self, target, now):
        """Letters that count against a recipient's hourly cap at `now`.

        Callers count at most `hourly_cap` of them ([:cap].count()): whether
        the cap is reached is all they need, and a full count grew with every
        letter sent in the hour."""
        return self.filter(
            target=target,
            state__in=[Letter.State.SENDING, Letter.State.SENT],
            send_started_at__gt=now - timezone.timedelta(hours=1),
        )


class Letter(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    signature = models.ForeignKey(Signature, on_delete=models.CASCADE, related_name="letters")
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="letters")
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="The letter text, signed with the signer's name and country.")
    from_name = models.CharField(max_length=201)
    reply_to = models.EmailField(max_length=254)

    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # When a dispatcher last handed this letter to the broker; it is handed over
    # again only once this lease has run out, so a slow queue is not flooded.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    esp_message_id = models.CharField(max_length=200, blank=True)

    objects = LetterQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["signature", "target"], name="letter_one_per_signature_target"),
        ]
        indexes = [
            models.Index(fields=["target", "state", "next_attempt_at"], name="letter_due"),
            models.Index(fields=["target", "send_started_at"], name="letter_cap_window"),
        ]

    def __str__(self):
        return f"Letter to {self.target.name} from {self.from_name}"

    @property
    def idempotency_key(self):
        return f"letter-{self.pk}"


class Outbox(models.Model):
    """Work to be done after a commit, recorded in the same transaction as the
    write that asks for it, so that a broker outage delays it but never loses it."""

    class Kind(models.TextChoices):
        CONFIRMATION_EMAIL = "confirmation_email", "Confirmation email"
        ALREADY_SIGNED_EMAIL = "already_signed_email", "Already-signed email"
        REMINDER_EMAIL = "reminder_email", "Reminder to confirm"
        THANKS_EMAIL = "thanks_email", "Thank-you email"
        MAILING_TEST = "mailing_test", "Test copy of an update"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (no longer wanted)"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    signature = models.ForeignKey(Signature, on_delete=models.CASCADE, related_name="outbox", null=True)
    mailing = models.ForeignKey("Mailing", on_delete=models.CASCADE, related_name="+", null=True, blank=True)
    to_email = models.EmailField(blank=True, help_text="For messages to staff rather than a signer.")
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # When this entry was last handed to the broker; it is handed over again if
    # it is still pending once this lease has run out (say Redis lost it).
    published_at = models.DateTimeField(null=True, blank=True)
    publish_count = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    esp_message_id = models.CharField(max_length=200, blank=True)
    # Entries sent together in one ESP batch call share this number (their
    # first entry's id). A batch is retried whole, with the same members, so
    # that its idempotency key stands for the same emails every time.
    batch = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "outbox entry"
        verbose_name_plural = "outbox"
        indexes = [
            models.Index(fields=["next_attempt_at"], name="outbox_pending", condition=models.Q(state="pending")),
            # Batches to send again: found without walking a backlog of fresh entries.
            models.Index(
                fields=["next_attempt_at"], name="outbox_batch_pending",
                condition=models.Q(state="pending", batch__isnull=False),
            ),
            models.Index(fields=["created_at"], name="outbox_failed", condition=models.Q(state="failed")),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def idempotency_key(self):
        return f"outbox-{self.pk}"


class Suppression(models.Model):
    """An address that gets no more supporter email: it unsubscribed, bounced,
    complained, or staff added it. Letters to recipients are not affected."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Hard bounce"
        COMPLAINED = "complained", "Spam complaint"
        REJECTED = "rejected", "Rejected by the email service"
        MANUAL = "manual", "Added by staff"

    email_normalized = models.CharField(max_length=254, unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email_normalized} ({self.get_reason_display()})"


class Mailing(models.Model):
    """A campaign update sent to a petition's opted-in, confirmed supporters."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    petition = models.ForeignKey(Petition, on_delete=models.PROTECT, related_name="mailings")
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="Plain text or Markdown: paragraphs, **bold**, *italic*, lists and links.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    created_by = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.subject


class MailingRecipient(models.Model):
    """One supporter's copy of a mailing. Its own state and sent time are what
    make a crash, a re-run or a double click send to nobody twice."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (unsubscribed or suppressed)"

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="recipients")
    signature = models.ForeignKey(Signature, on_delete=models.SET_NULL, null=True, related_name="+")
    email = models.EmailField(max_length=254)
    email_normalized = models.CharField(max_length=254)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    # The id of the first recipient of the batch this one was claimed in. A
    # batch keeps its members and its ESP idempotency key if it must be sent again.
    batch = models.BigIntegerField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    esp_message_id = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["mailing", "email_normalized"], name="mailing_recipient_once"),
        ]
        indexes = [
            models.Index(fields=["mailing", "state", "id"], name="mailing_recipient_state"),
            models.Index(fields=["mailing", "batch"], name="mailing_recipient_batch"),
        ]

    def __str__(self):
        return self.email


class EspEvent(models.Model):
    """A delivery event reported by the ESP's webhook, kept so a replayed
    event is recognised and processed only once."""

    event_id = models.CharField(max_length=200, unique=True)
    event_type = models.CharField(max_length=40)
    recipient = models.CharField(max_length=254, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "ESP event"

    def __str__(self):
        return f"{self.event_type} {self.recipient}"


class RateLimit(models.Model):
    """A limit on signatures from one source in a time window, editable by staff."""

    class Scope(models.TextChoices):
        IP = "ip", "Per IP address"
        EMAIL_DOMAIN = "email_domain", "Per email domain"

    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=20, choices=Scope.choices)
    window_seconds = models.PositiveIntegerField()
    max_signatures = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["scope", "window_seconds"]

    def __str__(self):
        return f"{self.name}: {self.max_signatures} per {self.window_seconds}s {self.get_scope_display().lower()}"


class BlockedSource(models.Model):
    """An email address, email domain or IP range whose signatures are held silently."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email address"
        DOMAIN = "domain", "Email domain"
        IP_RANGE = "ip_range", "IP range (CIDR)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=254, help_text="e.g. someone@example.org, example.org, or 203.0.113.0/24")
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name = "blocklist entry"
        verbose_name_plural = "blocklist"
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="blocked_source_once")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.value}"


class ModerationDecision(models.Model):
    """Who decided what about which signatures, when and why."""

    class Action(models.TextChoices):
        INVALIDATE = "invalidate", "Invalidated signatures"
        APPROVE = "approve", "Approved flagged signatures"
        COMMENT_APPROVE = "comment_approve", "Approved comments"
        COMMENT_REJECT = "comment_reject", "Rejected comments"

    actor = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=30, choices=Action.choices)
    reason = models.CharField(max_length=300)
    criteria = models.JSONField(default=dict, blank=True, help_text="The conditions of a bulk decision.")
    signature_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_action_display()} ({self.signature_count})"


class SignatureExport(models.Model):
    """A CSV export handed over to someone: what it held and the SHA-256 of its bytes."""

    petition = models.ForeignKey(Petition, on_delete=models.PROTECT, related_name="exports")
    created_by = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    columns = models.JSONField(default=list)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Filled in once the whole file has been sent.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Export of {self.petition} at {self.created_at:%Y-%m-%d %H:%M}"


class Erasure(models.Model):
    """That an erasure happened, and how much it erased; deliberately not who."""

    created_at = models.DateTimeField(default=timezone.now)
    signatures_erased = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=40, default="request", help_text="request, purge of unconfirmed, or anonymisation")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind}: {self.signatures_erased} signature(s) at {self.created_at:%Y-%m-%d %H:%M}"
