"""Daily digests to recipients: one email per recipient and period counting the
letters since the last one, instead of (or as well as) each letter."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from petitions.models.content import Target


class Digest(models.Model):
    """One recipient's digest for one period (the local date it is sent on).

    What it says is fixed when it is made (figures, comments, titles), so that a
    send repeated after a crash is the same message under the same idempotency
    key, which the ESP drops; the unique constraint stops a second digest for
    the same period whoever makes it."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="digests", verbose_name=_("recipient"))
    period = models.DateField(_("period"), help_text=_("The day, in the recipient's time zone, this digest is for."))
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.QUEUED)

    letters_count = models.PositiveIntegerField(_("letters since the last digest"))
    total_count = models.PositiveIntegerField(_("letters in total"))
    by_country = models.JSONField(default=list, help_text=_("[country code, letters] since the last digest."))
    comments = models.JSONField(default=list, help_text=_("[first name, country code, comment], approved ones."))
    petition_titles = models.JSONField(default=list)

    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    esp_message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("digest")
        verbose_name_plural = _("digests")
        constraints = [models.UniqueConstraint(fields=["target", "period"], name="digest_one_per_target_period")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="digest_due")]

    def __str__(self):
        return f"Digest to {self.target.name} for {self.period}"

    @property
    def idempotency_key(self) -> str:
        # Stands for the recipient and period, not the row: even a digest made
        # again after its row was lost is the same message to the ESP.
        return f"digest-{self.target_id}-{self.period.isoformat()}"
