"""Staff tools for safety and privacy: moderation decisions, rate limits, blocked sources, erasures."""

from django.contrib import admin, messages
from django.utils.translation import ngettext

from petitions.admin.records import OfferedFiltersOnly, RecordAdmin
from petitions.models import BlockedSource, DisposableDomain, Erasure, ModerationDecision, RateLimit
from petitions.services import moderation


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(RecordAdmin):
    list_display = ["created_at", "actor", "action", "signature_count", "reason", "criteria"]
    list_filter = ["action", "actor"]
    show_full_result_count = False


@admin.register(RateLimit)
class RateLimitAdmin(OfferedFiltersOnly):
    list_display = ["name", "scope", "window_seconds", "max_signatures", "is_active"]
    list_editable = ["window_seconds", "max_signatures", "is_active"]


@admin.register(BlockedSource)
class BlockedSourceAdmin(OfferedFiltersOnly):
    list_display = ["kind", "value", "note", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value"]
    fields = ["kind", "value", "note"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        entry, flagged = moderation.blocklist_add(kind=obj.kind, value=obj.value, note=obj.note)
        obj.pk = entry.pk
        if flagged:
            done = ngettext(
                "%(count)s existing signature(s) flagged for review.",
                "%(count)s existing signature(s) flagged for review.",
                flagged,
            )
            self.message_user(request, done % {"count": flagged}, messages.WARNING)


@admin.register(DisposableDomain)
class DisposableDomainAdmin(OfferedFiltersOnly):
    """Over the maintained list of throwaway mail domains (disposable-email-domains)."""

    list_display = ["domain", "disposable", "note", "created_at"]
    list_filter = ["disposable"]
    search_fields = ["domain"]
    fields = ["domain", "disposable", "note"]


@admin.register(Erasure)
class ErasureAdmin(RecordAdmin):
    list_display = ["created_at", "kind", "signatures_erased"]
