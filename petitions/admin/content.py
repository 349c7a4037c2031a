"""Staff tools for what a petition says and whom it addresses: petitions, targets, consent wordings."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from petitions.admin.records import OfferedFiltersOnly
from petitions.models import BackgroundFact, ConsentWording, Demand, Letter, Organisation, Petition, Target
from petitions.services import content, suppression


class DemandInline(admin.TabularInline):
    model = Demand
    extra = 0


class BackgroundFactInline(admin.StackedInline):
    model = BackgroundFact
    extra = 0


@admin.register(Petition)
class PetitionAdmin(OfferedFiltersOnly):
    list_display = ["title", "is_published", "is_open", "closes_at", "outcome", "signing_paused", "goal", "created_at"]
    list_filter = ["is_published", "is_open", "outcome"]
    readonly_fields = ["preview_link", "embed_snippet"]

    def save_model(self, request, obj, form, change):
        content.petition_save(petition=obj)
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["targets"]
    inlines = [DemandInline, BackgroundFactInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "language", "is_published", "preview_link", "is_open", "goal", "targets"]}),
        (
            _("Campaign"),
            {"fields": ["closes_at", "goal_steps", "outcome", "outcome_message"]},
        ),
        (_("Embed"), {"fields": ["embed_origins", "embed_snippet"]}),
        (
            _("Switches"),
            {
                "fields": [
                    "signing_paused", "signing_paused_message", "letters_paused", "letters_paused_message",
                    "letter_release_minutes", "count_after_release",
                ]
            },
        ),
        (
            _("Page"),
            {"fields": ["headline", "summary", "hero_image", "hero_alt", "body", "call_to_action", "further_reading"]},
        ),
        (
            _("Letter"),
            {"fields": ["letter_subject", "letter_greeting", "letter_body", "letter_demands_intro", "letter_closing"]},
        ),
    ]


    @admin.display(description=_("preview"))
    def preview_link(self, petition):
        if petition.pk is None:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("petitions:preview", args=[petition.slug]), _("Preview the page as the public will see it"),
        )

    @admin.display(description=_("embed code"))
    def embed_snippet(self, petition):
        """The code a listed site pastes into its page, one per listed origin."""
        if petition.pk is None or not petition.embed_origin_list():
            return _("List a site above and save to get its code.")
        snippets = [
            format_html(
                '<p>{}</p><textarea readonly rows="4" cols="100" class="embed-snippet">{}</textarea>',
                origin, embed_snippet_for(petition, origin),
            )
            for origin in petition.embed_origin_list()
        ]
        return format_html_join("", "{}", ((snippet,) for snippet in snippets))


def embed_snippet_for(petition, origin):
    frame_url = settings.SITE_URL + reverse("petitions:embed", args=[petition.slug]) + "?" + urlencode({"site": origin})
    script_url = settings.SITE_URL + static("js/embed.js")
    title = petition.title.replace('"', "&quot;")
    return (
        f'<iframe src="{frame_url}" title="{title}" data-petition-embed '
        f'style="inline-size:100%;block-size:640px;border:0" loading="lazy"></iframe>\n'
        f'<script src="{script_url}" async></script>'
    )


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """Who runs the campaign, as every public page names it (the first row)."""

    list_display = ["name", "contact_email", "website", "about_url"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not Organisation.objects.exists()


@admin.register(Target)
class TargetAdmin(OfferedFiltersOnly):
    class Media:
        css = {"all": ["css/admin-extra.css"]}

    list_display = [
        "name", "title", "organisation", "email", "is_active", "hourly_cap", "bounce_hold", "letters_queued",
        "letters_sent", "delivery_mode", "own_mail_only",
    ]
    list_filter = ["is_active", ("bounce_held_since", admin.EmptyFieldListFilter), "delivery_mode", "own_mail_only"]
    search_fields = ["name", "organisation", "email"]
    readonly_fields = ["bounce_held_since", "bounce_reason"]
    actions = ["clear_bounce_hold"]

    @admin.display(description=_("bounce hold"))
    def bounce_hold(self, target):
        if target.bounce_held_since is None:
            return "—"
        return format_html('<span class="bounce-held">{}</span> {}', gettext("Held"), target.bounce_reason)

    @admin.action(description=_("Clear the bounce hold (after fixing the address)"), permissions=["change"])
    def clear_bounce_hold(self, request, queryset):
        count = suppression.target_bounce_clear(target_ids=list(queryset.values_list("pk", flat=True)))
        released = ngettext(
            "%(count)s recipient(s) released; their queued letters will be sent.",
            "%(count)s recipient(s) released; their queued letters will be sent.",
            count,
        ) % {"count": count}
        self.message_user(request, released, messages.SUCCESS)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                queued_count=Count("letters", filter=Q(letters__state=Letter.State.QUEUED)),
                sent_count=Count("letters", filter=Q(letters__state=Letter.State.SENT)),
            )
        )

    @admin.display(description=_("queued"), ordering="queued_count")
    def letters_queued(self, target):
        return target.queued_count

    @admin.display(description=_("sent"), ordering="sent_count")
    def letters_sent(self, target):
        return target.sent_count


@admin.register(ConsentWording)
class ConsentWordingAdmin(OfferedFiltersOnly):
    list_display = ["kind", "language", "version", "created_at", "text"]
    list_filter = ["kind", "language"]

    def get_readonly_fields(self, request, obj=None):
        # A wording that signers may have agreed to must never change: add a
        # new version instead.
        return ["kind", "language", "version", "text", "created_at"] if obj else ["created_at"]

    def has_delete_permission(self, request, obj=None):
        return False
