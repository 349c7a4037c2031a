"""Staff tools for a petition's translations: each text written beside the original."""

from django.contrib import admin
from django.utils.html import format_html, linebreaks
from django.utils.translation import gettext_lazy as _

from petitions.admin.records import OfferedFiltersOnly
from petitions.models import BackgroundFactTranslation, DemandTranslation, PetitionTranslation
from petitions.services.content import petition_translation_save

# The petition's texts, in the order the page and the letter show them.
TEXT_FIELDS = [
    "title", "headline", "summary", "body", "call_to_action", "further_reading",
    "letter_subject", "letter_greeting", "letter_body", "letter_demands_intro", "letter_closing",
]


def _original(name):
    """A read-only field showing the petition's own text beside its translation."""

    @admin.display(description=_("original"))
    def show(self, translation):
        if translation is None or translation.petition_id is None:
            return "—"
        text = getattr(translation.petition, name)
        return format_html(
            '<div class="original" lang="{}" dir="auto">{}</div>',
            translation.petition.language,
            linebreaks(text, autoescape=True),
        )

    show.__name__ = f"original_{name}"
    return show


class DemandTranslationInline(admin.TabularInline):
    model = DemandTranslation
    extra = 0
    fields = ["demand", "original_demand", "text"]
    readonly_fields = ["original_demand"]

    @admin.display(description=_("original"))
    def original_demand(self, row):
        return row.demand.text if row.demand_id else "—"


class BackgroundFactTranslationInline(admin.StackedInline):
    model = BackgroundFactTranslation
    extra = 0
    fields = ["fact", ("original_fact", "text"), "source_detail"]
    readonly_fields = ["original_fact"]

    @admin.display(description=_("original"))
    def original_fact(self, row):
        return row.fact.text if row.fact_id else "—"


@admin.register(PetitionTranslation)
class PetitionTranslationAdmin(OfferedFiltersOnly):
    class Media:
        css = {"all": ["css/admin-extra.css"]}

    list_display = ["title", "language", "petition", "credit", "updated_at"]
    list_filter = ["language", "petition"]
    inlines = [DemandTranslationInline, BackgroundFactTranslationInline]
    readonly_fields = [f"original_{name}" for name in TEXT_FIELDS]
    fieldsets = [
        (None, {"fields": ["petition", "language", "credit"]}),
        (_("Page"), {"fields": [(f"original_{name}", name) for name in TEXT_FIELDS[:6]]}),
        (_("Letter"), {"fields": [(f"original_{name}", name) for name in TEXT_FIELDS[6:]]}),
    ]

    def save_model(self, request, obj, form, change):
        petition_translation_save(translation=obj)


for _name in TEXT_FIELDS:
    setattr(PetitionTranslationAdmin, f"original_{_name}", _original(_name))
