"""Staff tools for what a petition says and whom it addresses: petitions, targets, consent wordings."""

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from petitions.admin.records import OfferedFiltersOnly
from petitions.models import BackgroundFact, ConsentWording, Demand, Letter, Petition, Target
from petitions.services import content, suppression


class DemandInline(admin.TabularInline):
    model = Demand
    extra = 0


class BackgroundFactInline(admin.StackedInline):
    model = BackgroundFact
    extra = 0


@admin.register(Petition)
class PetitionAdmin(OfferedFiltersOnly):
    list_display = ["title", "is_open", "signing_paused", "letters_paused", "goal", "created_at"]
    list_filter = ["is_open"]

    def save_model(self, request, obj, form, change):
        content.petition_save(petition=obj)
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["targets"]
    inlines = [DemandInline, BackgroundFactInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "language", "is_open", "goal", "targets"]}),
        (
            _("Switches"),
            {
                "fields": [
                    "signing_paused", "signing_paused_message", "letters_paused", "letters_paused_message",
                    "letter_release_minutes", "count_after_release",
                ]
            },
        ),
        (_("Page"), {"fields": ["headline", "summary", "body", "call_to_action", "further_reading"]}),
        (
            _("Letter"),
            {"fields": ["letter_subject", "letter_greeting", "letter_body", "letter_demands_intro", "letter_closing"]},
        ),
    ]


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
