"""A petition's own words in other languages than the one it was written in.

The petition's fields hold the original (its `language`); each translation
holds the same texts in one other language, written by staff beside the
original in the admin. A page in a language with no translation shows the
original and says so (`selectors.texts.petition_texts`).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from petitions.models.content import BackgroundFact, Demand, Petition
from petitions.models.delivery import Mailing


class PetitionTranslation(models.Model):
    petition = models.ForeignKey(Petition, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200)
    headline = models.CharField(_("headline"), max_length=300, blank=True)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("body"), help_text=_("Paragraphs separated by blank lines."))
    call_to_action = models.CharField(_("call to action"), max_length=300, blank=True)
    further_reading = models.TextField(_("further reading"), blank=True, help_text=_("One title per line."))
    letter_subject = models.CharField(_("letter subject"), max_length=200)
    letter_greeting = models.CharField(_("letter greeting"), max_length=300)
    letter_body = models.TextField(_("letter body"), help_text=_("Paragraphs separated by blank lines."))
    letter_demands_intro = models.CharField(_("letter demands intro"), max_length=300, blank=True)
    letter_closing = models.CharField(_("letter closing"), max_length=100)
    credit = models.CharField(
        _("credit"), max_length=200, blank=True,
        help_text=_("Shown under the text, e.g. \"Translated by the campaign\"."),
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["petition", "language"]
        verbose_name = _("petition translation")
        verbose_name_plural = _("petition translations")
        constraints = [
            models.UniqueConstraint(fields=["petition", "language"], name="petition_translation_one_per_language")
        ]

    def __str__(self):
        return f"{self.petition} [{self.language}]"


class DemandTranslation(models.Model):
    translation = models.ForeignKey(PetitionTranslation, on_delete=models.CASCADE, related_name="demands")
    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="translations")
    text = models.TextField(_("text"))

    class Meta:
        verbose_name = _("demand translation")
        verbose_name_plural = _("demands, translated")
        constraints = [models.UniqueConstraint(fields=["translation", "demand"], name="demand_translation_unique")]

    def __str__(self):
        return self.text[:80]


class BackgroundFactTranslation(models.Model):
    translation = models.ForeignKey(PetitionTranslation, on_delete=models.CASCADE, related_name="background_facts")
    fact = models.ForeignKey(BackgroundFact, on_delete=models.CASCADE, related_name="translations")
    text = models.TextField(_("text"))
    source_detail = models.CharField(_("source detail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("background fact translation")
        verbose_name_plural = _("background facts, translated")
        constraints = [
            models.UniqueConstraint(fields=["translation", "fact"], name="background_fact_translation_unique")
        ]

    def __str__(self):
        return self.text[:80]


class MailingTranslation(models.Model):
    """An update's subject and body in one more language than the mailing's own."""

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), help_text=_("Plain text or Markdown, as the original."))

    class Meta:
        verbose_name = _("translation of the update")
        verbose_name_plural = _("translations of the update")
        constraints = [
            models.UniqueConstraint(fields=["mailing", "language"], name="mailing_translation_one_per_language")
        ]

    def __str__(self):
        return f"{self.subject} [{self.language}]"
