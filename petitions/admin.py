"""Staff tools. One ModelAdmin per model; every action calls a service."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import escape, format_html

from petitions.addresses import email_canonical
from petitions import abuse, emails, mailings, moderation, privacy, services, supporters
from petitions.models import (
    BackgroundFact,
    BlockedSource,
    Erasure,
    FlaggedSignature,
    ModerationDecision,
    RateLimit,
    SignerComment,
    ConsentWording,
    Demand,
    EspEvent,
    Letter,
    Mailing,
    Outbox,
    Petition,
    Signature,
    Suppression,
    Target,
)


class DemandInline(admin.TabularInline):
    model = Demand
    extra = 0


class BackgroundFactInline(admin.StackedInline):
    model = BackgroundFact
    extra = 0


@admin.register(Petition)
class PetitionAdmin(admin.ModelAdmin):
    list_display = ["title", "is_open", "signing_paused", "letters_paused", "goal", "created_at"]
    list_filter = ["is_open"]

    def save_model(self, request, obj, form, change):
        services.petition_save(petition=obj)
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["targets"]
    inlines = [DemandInline, BackgroundFactInline]
    fieldsets = [
        (None, {"fields": ["title", "slug", "is_open", "goal", "targets"]}),
        (
            "Switches",
            {"fields": ["signing_paused", "signing_paused_message", "letters_paused", "letters_paused_message"]},
        ),
        ("Page", {"fields": ["headline", "summary", "body", "call_to_action", "further_reading"]}),
        (
            "Letter",
            {"fields": ["letter_subject", "letter_greeting", "letter_body", "letter_demands_intro", "letter_closing"]},
        ),
    ]


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["css/admin-extra.css"]}

    list_display = [
        "name", "title", "organisation", "email", "is_active", "hourly_cap", "bounce_hold", "letters_queued",
        "letters_sent",
    ]
    list_filter = ["is_active", ("bounce_held_since", admin.EmptyFieldListFilter)]
    search_fields = ["name", "organisation", "email"]
    readonly_fields = ["bounce_held_since", "bounce_reason"]
    actions = ["clear_bounce_hold"]

    @admin.display(description="bounce hold")
    def bounce_hold(self, target):
        if target.bounce_held_since is None:
            return "—"
        return format_html('<span class="bounce-held">Held</span> {}', target.bounce_reason)

    @admin.action(description="Clear the bounce hold (after fixing the address)", permissions=["change"])
    def clear_bounce_hold(self, request, queryset):
        count = supporters.target_bounce_clear(target_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} recipient(s) released; their queued letters will be sent.", messages.SUCCESS)

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


class ReasonActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=300, label="Reason (recorded with the decision):",
        widget=forms.TextInput(attrs={"size": 40, "placeholder": "e.g. bot wave from one domain"}),
    )


class FlaggedFilter(admin.SimpleListFilter):
    title = "review flag"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", "Flagged for review"), ("no", "Not flagged")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(flag_reason="")
        if self.value() == "no":
            return queryset.filter(flag_reason="")
        return queryset


class CountBeyond(int):
    """A count that stopped once it passed `limit`: it shows as "more than
    10,000" in the list ("more than 10,000 signatures", "Select all more than
    10,000 signatures"), and its value, limit + 1, gives the pages up to there."""

    def __new__(cls, limit):
        return super().__new__(cls, limit + 1)

    def __str__(self):
        return f"more than {self - 1:,}"


class FilteredCountPaginator(Paginator):
    """Counts a filtered list only as far as the page shown needs.

    Counting every signature from one country (235,000 of a million) took most
    of the time of a page showing 50 of them. So a filtered list is counted up
    to the next multiple of STEP after the page's last row: with 50 rows a
    page, 10,000 on pages 1 to 199, 20,000 on pages 200 to 399, and so on. If
    more rows match, the count shows as "more than ..." and the page links run
    to the page just beyond it, so every page can still be reached. The
    unfiltered list is counted in full: staff read its total.
    """

    STEP = 10_000

    def __init__(self, *args, page_number, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_limit = self.STEP * (page_number * self.per_page // self.STEP + 1)

    @cached_property
    def count(self):
        if not self.object_list.query.where:
            return self.object_list.count()
        # COUNT(*) over a LIMIT subquery: the database stops at limit + 1 rows.
        counted = self.object_list.order_by()[: self.count_limit + 1].count()
        return CountBeyond(self.count_limit) if counted > self.count_limit else counted


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_filter = [
        "state", FlaggedFilter, "comment_state", "country", ("created_at", admin.DateFieldListFilter), "petition",
    ]
    search_fields = ["^first_name", "^last_name"]
    list_select_related = ["petition"]
    # A million rows: no second full COUNT on every page, and no date drill-down
    # that scans the table for its years and months.
    show_full_result_count = False
    list_per_page = 50
    action_form = ReasonActionForm
    actions = ["invalidate", "approve", "comments_approve", "comments_reject", "erase"]

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        try:
            page_number = max(int(request.GET.get(PAGE_VAR, 1)), 1)
        except ValueError:
            page_number = 1  # What the changelist shows for a page number it cannot read.
        return FilteredCountPaginator(queryset, per_page, orphans, allow_empty_first_page, page_number=page_number)

    def get_search_results(self, request, queryset, search_term):
        # An address is looked up as stored (canonical, lower case), which the
        # index serves; Django's "=" search compares UPPER() of both sides and
        # read all million rows.
        term = search_term.strip()
        if "@" in term and " " not in term:
            return queryset.filter(email_normalized=email_canonical(term)), False
        return super().get_search_results(request, queryset, search_term)

    def _sees_emails(self, request):
        return request.user.has_perm("petitions.view_signer_email")

    def get_list_display(self, request):
        columns = ["full_name", "country", "state", "flag_reason", "comment_state", "created_at", "confirmed_at"]
        # Moderators judge signatures without needing to see who they are.
        return columns[:1] + ["email"] + columns[1:] if self._sees_emails(request) else columns

    def get_fields(self, request, obj=None):
        fields = [
            "first_name", "last_name", "country", "postcode", "comment", "comment_state", "public_id", "petition",
            "state", "flag_reason", "flagged_at", "last_decision", "letter_consent", "reply_consent",
            "updates_consent", "created_at", "confirmed_at", "invalidated_at", "invalidated_reason",
            "repeat_notices_sent", "reminders_sent",
        ]
        if self._sees_emails(request):
            fields[2:2] = ["email", "email_normalized"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return [field for field in self.get_fields(request, obj) if field not in ("first_name", "last_name", "country", "postcode")]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Erasure must go through the erasure service, which keeps counts and
        # records that it happened; a plain delete would not.
        return False

    def has_moderate_permission(self, request):
        return request.user.has_perm("petitions.moderate_signature")

    def has_erase_permission(self, request):
        return request.user.has_perm("petitions.erase_signature")

    def _reason(self, request, default):
        return request.POST.get("reason", "").strip() or default

    @admin.action(description="Invalidate selected signatures (stop counting them, cancel unsent letters)", permissions=["moderate"])
    def invalidate(self, request, queryset):
        changed = moderation.signatures_invalidate(
            signature_ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user,
            reason=self._reason(request, "Invalidated in the admin"),
        )
        self.message_user(request, f"{changed} signature(s) invalidated.", messages.SUCCESS)

    @admin.action(description="Approve selected flagged signatures", permissions=["moderate"])
    def approve(self, request, queryset):
        changed = moderation.signatures_approve(
            signature_ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user,
            reason=self._reason(request, "Approved in the admin"),
        )
        self.message_user(request, f"{changed} flagged signature(s) approved.", messages.SUCCESS)

    @admin.action(description="Publish the selected signatures' comments", permissions=["moderate"])
    def comments_approve(self, request, queryset):
        changed = moderation.comments_decide(signature_ids=list(queryset.values_list("pk", flat=True)), actor=request.user, approve=True)
        self.message_user(request, f"{changed} comment(s) published.", messages.SUCCESS)

    @admin.action(description="Reject the selected signatures' comments", permissions=["moderate"])
    def comments_reject(self, request, queryset):
        changed = moderation.comments_decide(signature_ids=list(queryset.values_list("pk", flat=True)), actor=request.user, approve=False)
        self.message_user(request, f"{changed} comment(s) rejected.", messages.SUCCESS)

    @admin.action(description="Erase the selected signers' personal data everywhere (keeps the counts)", permissions=["erase"])
    def erase(self, request, queryset):
        erased = privacy.signatures_erase(signature_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Erased the personal data of {erased} signature(s).", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "bulk-invalidate/",
                self.admin_site.admin_view(self.bulk_invalidate_view),
                name="petitions_signature_bulk_invalidate",
            )
        ] + super().get_urls()

    def bulk_invalidate_view(self, request):
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        form = BulkInvalidationForm(request.POST or request.GET or None)
        context = self.admin_site.each_context(request) | {"title": "Invalidate signatures by conditions", "form": form, "opts": self.model._meta}
        if form.is_valid():
            criteria = form.criteria()
            count = moderation.bulk_invalidation_count(criteria)
            context |= {"count": count, "criteria": criteria}
            if request.method == "POST" and "confirm" in request.POST:
                changed = moderation.bulk_invalidate(
                    criteria=criteria, actor=request.user, reason=form.cleaned_data["reason"],
                    expected_count=form.cleaned_data["expected_count"],
                )
                if changed is None:
                    self.message_user(request, "The number of matching signatures changed; check the new count.", messages.WARNING)
                else:
                    self.message_user(request, f"{changed} signature(s) invalidated.", messages.SUCCESS)
                    return redirect(reverse("admin:petitions_signature_changelist"))
        return TemplateResponse(request, "admin/petitions/signature/bulk_invalidate.html", context)


class BulkInvalidationForm(forms.Form):
    petition = forms.ModelChoiceField(queryset=Petition.objects.all())
    email_domain = forms.CharField(required=False, max_length=254, help_text="e.g. throwaway.example")
    created_from = forms.DateTimeField(required=False, help_text="YYYY-MM-DD HH:MM (UTC)")
    created_to = forms.DateTimeField(required=False)
    ip_hash = forms.CharField(required=False, max_length=64, label="IP hash")
    country = forms.CharField(required=False, max_length=2, help_text="Two-letter code, e.g. FR")
    flagged_only = forms.BooleanField(required=False, label="Only signatures flagged for review")
    reason = forms.CharField(required=False, max_length=300)
    expected_count = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        narrowing = ("email_domain", "created_from", "created_to", "ip_hash", "country", "flagged_only")
        if not any(data.get(name) for name in narrowing):
            raise forms.ValidationError("Give at least one condition besides the petition.")
        return data

    def criteria(self):
        data = self.cleaned_data
        return {
            "petition": data["petition"].pk,
            "email_domain": data["email_domain"],
            "created_from": data["created_from"].isoformat() if data["created_from"] else "",
            "created_to": data["created_to"].isoformat() if data["created_to"] else "",
            "ip_hash": data["ip_hash"],
            "country": data["country"].upper(),
            "flagged_only": data["flagged_only"],
        }


class _QueueAdmin(SignatureAdmin):
    """A review queue: the signature list narrowed to what awaits a moderator."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("petitions.moderate_signature")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("petitions.moderate_signature")

    def has_module_permission(self, request):
        return request.user.has_perm("petitions.moderate_signature")

    def get_urls(self):
        return admin.ModelAdmin.get_urls(self)


@admin.register(FlaggedSignature)
class FlaggedSignatureAdmin(_QueueAdmin):
    actions = ["approve", "invalidate"]
    list_filter = ["state", "country", ("created_at", admin.DateFieldListFilter)]

    def get_queryset(self, request):
        return super().get_queryset(request).flagged()


@admin.register(SignerComment)
class SignerCommentAdmin(_QueueAdmin):
    actions = ["comments_approve", "comments_reject", "invalidate"]
    list_filter = ["country"]

    def get_list_display(self, request):
        return ["first_name", "country", "comment", "state", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(comment_state=Signature.CommentState.PENDING)


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
        obj.email_normalized = obj.email_normalized.strip().lower()
        super().save_model(request, obj, form, change)


@admin.register(EspEvent)
class EspEventAdmin(RecordAdmin):
    list_display = ["received_at", "event_type", "recipient", "event_id"]
    list_filter = ["event_type"]
    search_fields = ["=recipient"]
    show_full_result_count = False


@admin.register(Mailing)
class MailingAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["css/admin-extra.css"]}

    list_display = ["subject", "petition", "state", "created_at", "started_at", "finished_at"]
    list_filter = ["state", "petition"]
    change_form_template = "admin/petitions/mailing/change_form.html"

    def get_fields(self, request, obj=None):
        return ["petition", "subject", "body"] if obj is None else ["petition", "subject", "body", "state", "preview"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.state == Mailing.State.DRAFT:
            return ["state", "preview"]
        return ["petition", "subject", "body", "state", "preview"]

    @admin.display(description="preview")
    def preview(self, mailing):
        subject, _text, html = emails.mailing_preview(mailing)
        # The rendered email is marked safe as HTML, but inside an attribute it
        # is data and must be escaped, or its quotes would end the attribute.
        return format_html(
            '<p><strong>Subject:</strong> {}</p><iframe sandbox srcdoc="{}" title="Preview" class="mailing-preview"></iframe>',
            subject,
            escape(html),
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        def view(function, name):
            return path(f"<int:mailing_id>/{name}/", self.admin_site.admin_view(function), name=f"petitions_mailing_{name}")

        return [
            view(self.progress_view, "progress"),
            view(self.send_view, "send"),
            view(self.test_view, "test"),
            view(self.pause_view, "pause"),
            view(self.resume_view, "resume"),
            view(self.cancel_view, "cancel"),
        ] + super().get_urls()

    def _mailing(self, request, mailing_id, *, change=True):
        mailing = get_object_or_404(Mailing.objects.select_related("petition"), pk=mailing_id)
        allowed = self.has_change_permission(request, mailing) if change else self.has_view_permission(request, mailing)
        if not allowed:
            raise PermissionDenied
        return mailing

    def _back(self, mailing):
        return redirect(reverse("admin:petitions_mailing_change", args=[mailing.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        mailing = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if mailing is not None:
            extra_context["progress"] = mailings.mailing_progress(mailing)
            extra_context["mailing"] = mailing
        return super().change_view(request, object_id, form_url, extra_context)

    def progress_view(self, request, mailing_id):
        mailing = self._mailing(request, mailing_id, change=False)
        return JsonResponse(mailings.mailing_progress(mailing) | {"state": mailing.get_state_display()})

    def send_view(self, request, mailing_id):
        mailing = self._mailing(request, mailing_id)
        if request.method == "POST":
            try:
                count = mailings.mailing_start(mailing_id=mailing.pk)
            except mailings.MailingStateError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, f"Sending to {count} supporter(s).", messages.SUCCESS)
            return self._back(mailing)
        context = self.admin_site.each_context(request) | {
            "title": "Send this update?",
            "mailing": mailing,
            "audience": mailings.mailing_audience_count(mailing),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/petitions/mailing/send_confirm.html", context)

    def test_view(self, request, mailing_id):
        mailing = self._mailing(request, mailing_id)
        if request.method != "POST":
            return self._back(mailing)
        if not request.user.email:
            self.message_user(request, "Your staff account has no email address to send the test to.", messages.ERROR)
        else:
            mailings.mailing_test_send(mailing_id=mailing.pk, to_email=request.user.email)
            self.message_user(request, f"A test copy is on its way to {request.user.email}.", messages.SUCCESS)
        return self._back(mailing)

    def _transition_view(self, request, mailing_id, service, done):
        mailing = self._mailing(request, mailing_id)
        if request.method == "POST":
            if service(mailing_id=mailing.pk):
                self.message_user(request, done, messages.SUCCESS)
            else:
                self.message_user(request, f"Nothing changed: this update is {mailing.get_state_display().lower()}.", messages.WARNING)
        return self._back(mailing)

    def pause_view(self, request, mailing_id):
        return self._transition_view(request, mailing_id, mailings.mailing_pause, "Paused after the batches in flight.")

    def resume_view(self, request, mailing_id):
        return self._transition_view(request, mailing_id, mailings.mailing_resume, "Sending again.")

    def cancel_view(self, request, mailing_id):
        return self._transition_view(request, mailing_id, mailings.mailing_cancel, "Cancelled: nothing more will be sent.")


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(RecordAdmin):
    list_display = ["created_at", "actor", "action", "signature_count", "reason", "criteria"]
    list_filter = ["action", "actor"]
    show_full_result_count = False


@admin.register(RateLimit)
class RateLimitAdmin(admin.ModelAdmin):
    list_display = ["name", "scope", "window_seconds", "max_signatures", "is_active"]
    list_editable = ["window_seconds", "max_signatures", "is_active"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # This process applies the change at once; others within seconds.
        abuse.config_forget()


@admin.register(BlockedSource)
class BlockedSourceAdmin(admin.ModelAdmin):
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
            self.message_user(request, f"{flagged} existing signature(s) flagged for review.", messages.WARNING)


@admin.register(Erasure)
class ErasureAdmin(RecordAdmin):
    list_display = ["created_at", "kind", "signatures_erased"]
