"""Staff tools. One ModelAdmin per model; every action calls a service."""

from django.contrib import admin, messages
from django.db.models import Count, Q

from petitions import services
from petitions.models import BackgroundFact, ConsentWording, Demand, Letter, Outbox, Petition, Signature, Target


class DemandInline(admin.TabularInline):
    model = Demand
    extra = 0


class BackgroundFactInline(admin.StackedInline):
    model = BackgroundFact
    extra = 0


@admin.register(Petition)
class PetitionAdmin(admin.ModelAdmin):
    list_display = ["title", "is_open", "goal", "created_at"]
    list_filter = ["is_open"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["targets"]
    inlines = [DemandInline, BackgroundFactInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "is_open", "goal", "targets"]}),
        ("Page", {"fields": ["headline", "summary", "body", "call_to_action", "further_reading"]}),
        (
            "Letter",
            {"fields": ["letter_subject", "letter_greeting", "letter_body", "letter_demands_intro", "letter_closing"]},
        ),
    ]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "organisation", "email", "is_active", "hourly_cap", "letters_queued", "letters_sent"]
    list_filter = ["is_active"]
    search_fields = ["name", "organisation", "email"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                queued_count=Count("letters", filter=Q(letters__state=Letter.State.QUEUED)),
                sent_count=Count("letters", filter=Q(letters__state=Letter.State.SENT)),
            )
        )

    @admin.display(description="queued", ordering="queued_count")
    def letters_queued(self, target):
        return target.queued_count

    @admin.display(description="sent", ordering="sent_count")
    def letters_sent(self, target):
        return target.sent_count


@admin.register(ConsentWording)
class ConsentWordingAdmin(admin.ModelAdmin):
    list_display = ["kind", "version", "created_at", "text"]
    list_filter = ["kind"]

    def get_readonly_fields(self, request, obj=None):
        # A wording that signers may have agreed to must never change: add a
        # new version instead.
        return ["kind", "version", "text", "created_at"] if obj else ["created_at"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = ["full_name", "email", "country", "state", "created_at", "confirmed_at"]
    list_filter = ["state", "country", ("created_at", admin.DateFieldListFilter), "petition"]
    search_fields = ["first_name", "last_name", "=email_normalized"]
    list_select_related = ["petition"]
    # A million rows: no second full COUNT on every page, and no date drill-down
    # that scans the table for its years and months.
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = [
        "public_id", "petition", "email", "email_normalized", "state", "letter_consent", "reply_consent",
        "updates_consent", "created_at", "confirmed_at", "invalidated_at", "invalidated_reason",
        "repeat_notices_sent",
    ]
    fields = ["first_name", "last_name", "country", "postcode", *readonly_fields]
    actions = ["invalidate"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Erasure must go through the erasure service, which keeps counts and
        # records that it happened; a plain delete would not.
        return False

    @admin.action(description="Invalidate selected signatures (stop counting them, cancel unsent letters)")
    def invalidate(self, request, queryset):
        changed = services.signatures_invalidate(
            signature_ids=list(queryset.values_list("pk", flat=True)),
            reason=f"Invalidated by {request.user.get_username()} in the admin",
        )
        self.message_user(request, f"{changed} signature(s) invalidated.", messages.SUCCESS)


class RecordAdmin(admin.ModelAdmin):
    """Records the system keeps: staff read them and act through actions only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
        count = services.letters_retry(letter_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed letter(s) queued again.", messages.SUCCESS)


@admin.register(Outbox)
class OutboxAdmin(RecordAdmin):
    list_display = ["pk", "kind", "state", "created_at", "published_at", "attempts", "done_at", "last_error"]
    list_filter = ["state", "kind"]
    show_full_result_count = False
