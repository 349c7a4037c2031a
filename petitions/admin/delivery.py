"""Staff tools for delivery: letters, the outbox, suppressions and ESP events."""

from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from petitions.admin.records import OfferedFiltersOnly, RecordAdmin, sees_signer_emails
from petitions.models import EspEvent, Letter, Outbox, Suppression
from petitions.services import letters, suppression


@admin.register(Letter)
class LetterAdmin(RecordAdmin):
    list_display = ["pk", "target", "from_name", "state", "outcome", "attempts", "created_at", "sent_at", "last_error"]
    list_filter = ["state", "outcome", "target"]
    list_select_related = ["target"]
    show_full_result_count = False
    readonly_fields = [
        "signature", "target", "state", "subject", "body", "from_name", "reply_to", "created_at",
        "next_attempt_at", "enqueued_at", "send_started_at", "sent_at", "attempts", "last_error", "esp_message_id",
        "outcome", "outcome_at", "delivered_at",
    ]
    actions = ["retry"]

    def get_fields(self, request, obj=None):
        # The Reply-To is the signer's own address when they allowed replies.
        fields = list(super().get_fields(request, obj))
        return fields if sees_signer_emails(request) else [name for name in fields if name != "reply_to"]

    def has_retry_permission(self, request):
        return request.user.has_perm("petitions.change_letter")

    @admin.action(description=_("Retry selected failed letters"), permissions=["retry"])
    def retry(self, request, queryset):
        count = letters.letters_retry(letter_ids=list(queryset.values_list("pk", flat=True)))
        queued = ngettext("%(count)s failed letter(s) queued again.", "%(count)s failed letter(s) queued again.", count)
        self.message_user(request, queued % {"count": count}, messages.SUCCESS)


@admin.register(Outbox)
class OutboxAdmin(RecordAdmin):
    list_display = ["pk", "kind", "state", "created_at", "published_at", "attempts", "done_at", "last_error"]
    list_filter = ["state", "kind"]
    show_full_result_count = False


@admin.register(Suppression)
class SuppressionAdmin(OfferedFiltersOnly):
    list_filter = ["reason"]
    show_full_result_count = False

    # Suppressed addresses are mostly signers': shown, and searchable, only
    # to staff who may see signers' addresses. Anyone with the add permission
    # may still suppress an address they type.
    def get_list_display(self, request):
        shown = "email_normalized" if sees_signer_emails(request) else "address_hidden"
        return [shown, "reason", "detail", "created_at"]

    def get_search_fields(self, request):
        return ["=email_normalized"] if sees_signer_emails(request) else []

    def get_fields(self, request, obj=None):
        if obj is not None and not sees_signer_emails(request):
            return ["reason", "detail", "created_at"]
        return ["email_normalized", "reason", "detail"]

    def get_readonly_fields(self, request, obj=None):
        return ["email_normalized", "created_at"] if obj else []

    @admin.display(description=_("address"))
    def address_hidden(self, obj):
        return gettext("(hidden: needs the permission to see signers' addresses)")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # Staff may type any spelling of the address: it is kept in the one canonical form.
        saved = suppression.suppression_add(email=obj.email_normalized, reason=obj.reason, detail=obj.detail)
        obj.pk, obj.email_normalized = saved.pk, saved.email_normalized


@admin.register(EspEvent)
class EspEventAdmin(RecordAdmin):
    list_filter = ["event_type"]

    def get_list_display(self, request):
        shown = ["recipient"] if sees_signer_emails(request) else []
        return ["received_at", "event_type", *shown, "event_id"]

    def get_search_fields(self, request):
        return ["=recipient"] if sees_signer_emails(request) else []

    def get_fields(self, request, obj=None):
        fields = ["event_id", "event_type", "recipient", "received_at"]
        return fields if sees_signer_emails(request) else [name for name in fields if name != "recipient"]
    show_full_result_count = False
