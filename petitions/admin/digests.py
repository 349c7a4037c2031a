"""Staff tools for recipients' daily digests: what each said and when it went."""

from django.contrib import admin

from petitions.admin.records import RecordAdmin
from petitions.models import Digest


@admin.register(Digest)
class DigestAdmin(RecordAdmin):
    list_display = ["pk", "target", "period", "state", "letters_count", "total_count", "sent_at", "last_error"]
    list_filter = ["state", "target"]
    list_select_related = ["target"]
    date_hierarchy = "period"
    readonly_fields = [
        "target", "period", "state", "letters_count", "total_count", "by_country", "petition_titles", "created_at",
        "next_attempt_at", "enqueued_at", "send_started_at", "sent_at", "attempts", "last_error", "esp_message_id",
    ]
    # The comments quote signers; staff see them in the comment queue.
    exclude = ["comments"]
