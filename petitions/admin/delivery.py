"""Staff tools for delivery: letters, the outbox, suppressions and ESP events."""

from django.contrib import admin, messages

from petitions.admin.records import RecordAdmin
from petitions.models import EspEvent, Letter, Outbox, Suppression
from petitions.services import letters, suppression


@admin.register(Letter)
class LetterAdmin(RecordAdmin):
    list_display = ["pk", "target", "from_name", "state", "attempts", "created_at", "sent_at", "last_error"]
    list_filter = ["state", "target"]
    list_select_related = ["target"]
    show_full_result_count = False
    readonly_fields = [
        "signature", "target", "state", "subject", "body", "from_name", "reply_to", "created_at",
        "next_attempt_at", "enqueued_at", "send_started_at", "sent_at", "attempts", "last_error", "esp_message_id",
    ]
    actions = ["retry"]

    def has_retry_permission(self, request):
        return request.user.has_perm("petitions.change_letter")

    @admin.action(description="Retry selected failed letters", permissions=["retry"])
    def retry(self, request, queryset):
        count = letters.letters_retry(letter_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed letter(s) queued again.", messages.SUCCESS)


@admin.register(Outbox)
class OutboxAdmin(RecordAdmin):
    list_display = ["pk", "kind", "state", "created_at", "published_at", "attempts", "done_at", "last_error"]
    list_filter = ["state", "kind"]
    show_full_result_count = False


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["email_normalized", "reason", "detail", "created_at"]
    list_filter = ["reason"]
    search_fields = ["=email_normalized"]
    show_full_result_count = False
    fields = ["email_normalized", "reason", "detail"]

    def get_readonly_fields(self, request, obj=None):
        return ["email_normalized"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # Staff may type any spelling of the address: it is kept in the one canonical form.
        saved = suppression.suppression_add(email=obj.email_normalized, reason=obj.reason, detail=obj.detail)
        obj.pk, obj.email_normalized = saved.pk, saved.email_normalized


@admin.register(EspEvent)
class EspEventAdmin(RecordAdmin):
    list_display = ["received_at", "event_type", "recipient", "event_id"]
    list_filter = ["event_type"]
    search_fields = ["=recipient"]
    show_full_result_count = False
