"""Signatures collected on paper or offline, entered by staff in batches, and
the packs of confirmed signatures handed over to the recipients in person."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from petitions.models.content import ConsentWording, Petition


class OfflineBatch(models.Model):
    """One batch of paper signatures as staff entered it: who, when, from
    which event, which scan of the paper, and the consent wordings the paper
    form carried (None where the form did not ask for that consent)."""

    petition = models.ForeignKey(Petition, on_delete=models.PROTECT, related_name="offline_batches")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("entered by")
    )
    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)
    collected_on = models.DateField(_("collected on"), help_text=_("The day the signatures were collected."))
    place = models.CharField(_("event or place"), max_length=200)
    scan_reference = models.CharField(
        _("scan reference"), max_length=200, help_text=_("Where the scan of the paper forms is kept.")
    )
    letter_consent = models.ForeignKey(
        ConsentWording, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("letter consent on the paper form"),
    )
    reply_consent = models.ForeignKey(
        ConsentWording, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("reply consent on the paper form"),
    )
    updates_consent = models.ForeignKey(
        ConsentWording, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("updates consent on the paper form"),
    )
    signature_count = models.PositiveIntegerField(_("signatures added"), default=0)
    duplicate_count = models.PositiveIntegerField(_("duplicates left out"), default=0)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("withdrawn by"),
    )
    withdrawn_reason = models.CharField(_("why withdrawn"), max_length=300, blank=True)

    class Meta:
        ordering = ["-entered_at"]
        verbose_name = _("offline signature batch")
        verbose_name_plural = _("offline signature batches")
        permissions = [
            ("add_offline_signatures", _("Can add and withdraw offline (paper) signatures")),
            ("make_handover_pack", _("Can make a hand-over pack of the signatures")),
        ]

    def __str__(self) -> str:
        return f"{self.place} ({self.collected_on:%Y-%m-%d})"


class HandoverPack(models.Model):
    """A list of confirmed signatures handed over in person, as a PDF and a
    CSV, with the final digest of the hash chain over its rows (printed on
    the cover). `handover_verify` recomputes it from the CSV."""

    petition = models.ForeignKey(Petition, on_delete=models.PROTECT, related_name="handover_packs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    recipients = models.TextField(blank=True, help_text=_("The recipients named on the cover, one per line."))
    signature_count = models.PositiveIntegerField(null=True, blank=True)
    count_by_country = models.JSONField(default=dict, blank=True)
    final_digest = models.CharField(max_length=64, blank=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("hand-over pack")
        verbose_name_plural = _("hand-over packs")

    def __str__(self) -> str:
        return f"{self.petition} #{self.pk}"
