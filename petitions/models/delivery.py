"""Messages to send and what became of them: letters to the recipients, the
outbox of supporter email, campaign updates and their copies, the suppression
list and the ESP's events. Each is a row the delivery engine claims and records."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from petitions.models.content import Petition, Target
from petitions.models.signatures import Signature


class LetterQuerySet(models.QuerySet):
    def sent_to_in_last_hour(self, target, now):
        """Letters that count against a recipient's hourly cap at `now`.

        Callers count at most `hourly_cap` of them ([:cap].count()): whether
        the cap is reached is all they need, and a full count grew with every
        letter sent in the hour."""
        return self.filter(
            target=target,
            state__in=[Letter.State.SENDING, Letter.State.SENT],
            send_started_at__gt=now - timedelta(hours=1),
        )


class Letter(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        # Never sent on its own: the recipient takes a daily digest (the
        # letter's `digest` says which one counted it).
        DIGEST_ONLY = "digest_only", _("In the recipient's digest")
        # The supporter sent it from their own mail client (or the recipient
        # takes only that): the service sends no copy.
        BY_SUPPORTER = "by_supporter", _("Sent by the supporter")

    signature = models.ForeignKey(Signature, on_delete=models.CASCADE, related_name="letters")
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="letters")
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    # The recipient's letter language: what the subject and body are written in.
    language = models.CharField(max_length=8, blank=True, default="")
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
    # The digest that counted this letter, once one has.
    digest = models.ForeignKey(
        "Digest", on_delete=models.SET_NULL, null=True, blank=True, related_name="letters", db_index=False
    )
    # The time office-hours spreading gave this letter (None: not spread).
    slot_at = models.DateTimeField(null=True, blank=True)

    class Outcome(models.TextChoices):
        """What the ESP's webhooks last said of the letter, in the order a later
        word may replace an earlier one (see OUTCOME_RANK): a late 'sent'
        never overwrites 'delivered'."""

        NONE = "", _("No word from the email service yet")
        QUEUED = "queued", _("Queued at the email service")
        SENT = "sent", _("Sent")
        DEFERRED = "deferred", _("Delayed by the recipient's server")
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Refused by the recipient's server")
        COMPLAINED = "complained", _("Marked as spam by the recipient")

    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True, default="")
    outcome_at = models.DateTimeField(null=True, blank=True, help_text="When the ESP reported the outcome.")
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = LetterQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["signature", "target"], name="letter_one_per_signature_target"),
        ]
        indexes = [
            models.Index(fields=["target", "state", "next_attempt_at"], name="letter_due"),
            models.Index(fields=["target", "send_started_at"], name="letter_cap_window"),
            # The tracking webhook finds a letter by the ESP's id for it.
            models.Index(fields=["esp_message_id"], name="letter_esp_message", condition=~models.Q(esp_message_id="")),
            models.Index(fields=["digest"], name="letter_digest", condition=models.Q(digest__isnull=False)),
        ]

    def __str__(self):
        return f"Letter to {self.target.name} from {self.from_name}"

    @property
    def idempotency_key(self):
        return f"letter-{self.pk}"


# A later event replaces the letter's outcome only if it ranks higher: webhooks
# repeat and arrive out of order, and 'delivered' is worth more than 'sent'.
OUTCOME_RANK = {
    Letter.Outcome.NONE: 0,
    Letter.Outcome.QUEUED: 1,
    Letter.Outcome.SENT: 2,
    Letter.Outcome.DEFERRED: 3,
    Letter.Outcome.DELIVERED: 4,
    Letter.Outcome.BOUNCED: 5,
    Letter.Outcome.COMPLAINED: 6,
}


class Outbox(models.Model):
    """Work to be done after a commit, recorded in the same transaction as the
    write that asks for it, so that a broker outage delays it but never loses it."""

    class Kind(models.TextChoices):
        CONFIRMATION_EMAIL = "confirmation_email", "Confirmation email"
        ALREADY_SIGNED_EMAIL = "already_signed_email", "Already-signed email"
        REMINDER_EMAIL = "reminder_email", "Reminder to confirm"
        THANKS_EMAIL = "thanks_email", "Thank-you email"
        MAILING_TEST = "mailing_test", "Test copy of an update"
        # Written by the sign request when the mailbox had already signed; the
        # drain resolves it into an already-signed email, or skips it.
        REPEAT_SIGNATURE = "repeat_signature", "Repeat signature to resolve"

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
    # A repeat signature's petition and canonical address, until the drain
    # resolves it to the signature (then cleared).
    petition = models.ForeignKey(
        Petition, on_delete=models.CASCADE, related_name="+", null=True, blank=True, db_index=False
    )
    signer_address = models.CharField(max_length=254, blank=True)
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

    # Cleared when the signer is erased; the keyed hash (addresses.address_hash)
    # stays, so an erased address still gets nothing, yet cannot be read back.
    email_normalized = models.CharField(max_length=254, unique=True, null=True, blank=True)
    address_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        # Not the address: titles and history entries are seen by staff who may not see it.
        return f"Suppression #{self.pk} ({self.get_reason_display()})"


class Mailing(models.Model):
    """A campaign update sent to a petition's opted-in, confirmed supporters."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    petition = models.ForeignKey(Petition, on_delete=models.PROTECT, related_name="mailings")
    # The language of the subject and body below; other languages are its
    # translations. A supporter gets their own language, or this one.
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
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
    # The supporter's language when the audience was drawn; batches are per language.
    language = models.CharField(max_length=8, default="en")
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
