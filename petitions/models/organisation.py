"""Who runs the campaign, as the public pages name it: staff edit it in the admin."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Organisation(models.Model):
    """The organisation behind the petitions. One row; the pages read the first."""

    name = models.CharField(_("name"), max_length=200)
    logo = models.ImageField(_("logo"), upload_to="organisation/", blank=True)
    logo_alt = models.CharField(
        _("logo's text alternative"), max_length=200, blank=True, help_text=_("Usually the organisation's name.")
    )
    contact_email = models.EmailField(_("contact email"), blank=True)
    website = models.URLField(_("website"), blank=True)
    about_url = models.URLField(
        _("who runs the campaign"), blank=True, help_text=_("A page about the people and funding behind the campaign.")
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisation")

    def __str__(self):
        return self.name
