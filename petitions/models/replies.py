"""Replies from the recipients: mail that came back to a letter's campaign
reply address, the review queue staff approve them from, and their
attachments (kept for staff, never served publicly)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from petitions.models.content import Petition, Target
from petitions.models.delivery import Mailing


class RecipientReplyQuerySet(models.QuerySet):
    def awaiting_review(self):
        """Replies by a person (not an auto-reply) that staff have not decided on."""
        return self.filter(kind=RecipientReply.Kind.REPLY, state=RecipientReply.State.PENDING)

    def shown(self):
        """Approved replies: the recipients' public responses."""
        return self.filter(state=RecipientReply.State.APPROVED)


class RecipientReply(models.Model):
    """One email received at a campaign reply address (or from a recipient's address)."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        AUTO_REPLY = "auto_reply", _("Automatic reply (out of office)")

    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting review")
        APPROVED = "approved", _("Approved and shown")
        REJECTED = "rejected", _("Not shown")

    class MatchedBy(models.TextChoices):
        NONE = "", _("Not matched to a recipient")
        ADDRESS = "address", _("The recipient's reply address")
        SENDER = "sender", _("The sender is a recipient's address")

    # The ESP's id for the inbound event, so a repeated webhook stores it once.
    event_id = models.CharField(max_length=200, unique=True)
    petition = models.ForeignKey(Petition, on_delete=models.PROTECT, related_name="replies", null=True, blank=True)
    target = models.ForeignKey(
        Target, on_delete=models.PROTECT, related_name="replies", null=True, blank=True, verbose_name=_("recipient")
    )
    matched_by = models.CharField(max_length=20, choices=MatchedBy.choices, blank=True, default="")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REPLY)
    auto_reason = models.CharField(max_length=200, blank=True, help_text=_("Why it was taken for an auto-reply."))
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)

    from_address = models.CharField(max_length=254, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    to_address = models.CharField(max_length=254, blank=True, help_text=_("The reply address it was sent to."))
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True, help_text=_("The plain text of the reply."))
    # The HTML part after nh3: only simple formatting is kept, for staff to read.
    html_sanitised = models.TextField(blank=True)
    message_id = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    excerpt = models.TextField(
        blank=True, help_text=_("What the public page and the supporters' email quote; empty: the whole text.")
    )
    note = models.TextField(blank=True, help_text=_("The campaign's word on the reply, shown under it."))
    decided_by = models.ForeignKey("auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    mailing = models.ForeignKey(
        Mailing, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text=_("The update that took the reply to the supporters."),
    )

    objects = RecipientReplyQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("reply from a recipient")
        verbose_name_plural = _("replies from recipients")
        permissions = [("approve_recipientreply", "Can approve recipients' replies and send them to supporters")]
        indexes = [
            models.Index(fields=["petition", "state", "-received_at"], name="reply_shown"),
            models.Index(fields=["kind", "state"], name="reply_queue"),
        ]

    def __str__(self):
        return f"{self.subject or _('(no subject)')} ({self.get_state_display()})"

    @property
    def quoted_text(self):
        """What is shown publicly: the excerpt staff chose, or the whole text."""
        return self.excerpt.strip() or self.text.strip()


class ReplyAttachment(models.Model):
    """A file that came with a reply: staff see its name and size in the admin;
    it is never served from a public URL."""

    reply = models.ForeignKey(RecipientReply, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(default=0)
    content = models.BinaryField(editable=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.filename or _('(unnamed)')} ({self.size} bytes)"


class AutoReply(RecipientReply):
    """Out-of-office and other automatic replies, kept apart from the review queue."""

    class Meta:
        proxy = True
        verbose_name = _("automatic reply")
        verbose_name_plural = _("automatic replies")
