"""Staff tools for signatures: the list and its actions, bulk invalidation, and the review queues."""

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from petitions.addresses import email_canonical
from petitions.admin.records import OfferedFiltersOnly
from petitions.models import FlaggedSignature, Petition, Signature, SignatureQuerySet, SignerComment
from petitions.services import moderation, privacy

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices  # A TypedDict of django-stubs only.

logger = logging.getLogger(__name__)


class ReasonActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=300, label=_("Reason (recorded with the decision):"),
        widget=forms.TextInput(attrs={"size": 40, "placeholder": _("e.g. bot wave from one domain")}),
    )


class FlaggedFilter(admin.SimpleListFilter):
    title = _("review flag")
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("yes", _("Flagged for review")), ("no", _("Not flagged"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(flag_reason="")
        if self.value() == "no":
            return queryset.filter(flag_reason="")
        return queryset


SIGNED_COUNTRIES_CACHE_KEY = "admin:signature-countries"
SIGNED_COUNTRIES_CACHE_SECONDS = 60


def signed_country_codes() -> set[str]:
    """The codes of the countries that have at least one signature, read at
    most SIGNED_COUNTRIES_CACHE_SECONDS ago; read now if the cache cannot be
    reached. One DISTINCT over the indexed country column, not a scan of the
    rows: a country's first signature shows in the filter within a minute."""
    try:
        codes: list[str] | None = cache.get(SIGNED_COUNTRIES_CACHE_KEY)
    except RedisError:
        logger.warning("Cache unavailable; reading the signature list's countries from the database")
        codes = None
    if codes is None:
        # order_by() by the column itself: the model's default order (newest
        # first) would otherwise join the DISTINCT and return every row.
        codes = list(Signature.objects.order_by("country").values_list("country", flat=True).distinct())
        try:
            cache.set(SIGNED_COUNTRIES_CACHE_KEY, codes, SIGNED_COUNTRIES_CACHE_SECONDS)
        except RedisError:
            logger.warning("Cache unavailable; the signature list's countries were not stored")
    return set(codes)


class SignedCountryFilter(admin.ChoicesFieldListFilter):
    """The country filter, offering only the countries that have signatures.

    Django's filter for a field with choices offers every choice: all 250
    countries, a page several thousand pixels tall. This one offers those in
    signed_country_codes(), by name as the field's choices order them, under
    the same parameter (`country__exact`); the field stays in `list_filter`,
    so the list's lookup rules (OfferedFiltersOnly) apply as before."""

    @cached_property
    def offered(self) -> list[tuple[str, str]]:
        signed = signed_country_codes()
        named = [(str(code), str(name)) for code, name in self.field.flatchoices if code in signed]
        # A code the country list no longer knows is still offered, by its code.
        known = {code for code, _name in named}
        return named + [(code, code) for code in sorted(signed - known)]

    def get_facet_counts(self, pk_attname: str, filtered_qs: QuerySet) -> dict[str, Count]:
        return {
            f"{number}__c": Count(pk_attname, filter=Q((self.lookup_kwarg, code)))
            for number, (code, _name) in enumerate(self.offered)
        }

    def choices(self, changelist: ChangeList) -> "Iterator[_ListFilterChoices]":
        facet_counts = self.get_facet_queryset(changelist) if changelist.add_facets else None
        yield {
            "selected": self.lookup_val is None,
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg, self.lookup_kwarg_isnull]),
            "display": gettext("All"),
        }
        for number, (code, name) in enumerate(self.offered):
            yield {
                "selected": self.lookup_val is not None and code in self.lookup_val,
                "query_string": changelist.get_query_string({self.lookup_kwarg: code}, [self.lookup_kwarg_isnull]),
                "display": f"{name} ({facet_counts[f'{number}__c']})" if facet_counts is not None else name,
            }


class CountBeyond(int):
    """A count that stopped once it passed `limit`: it shows as "more than
    10,000" in the list ("more than 10,000 signatures", "Select all more than
    10,000 signatures"), and its value, limit + 1, gives the pages up to there."""

    def __new__(cls, limit):
        return super().__new__(cls, limit + 1)

    def __str__(self):
        return gettext("more than %(count)s") % {"count": f"{self - 1:,}"}


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
    def count(self) -> int:
        # The admin paginates a queryset (get_paginator below).
        object_list = cast("QuerySet[Signature]", self.object_list)
        if not object_list.query.where:
            return object_list.count()
        # COUNT(*) over a LIMIT subquery: the database stops at limit + 1 rows.
        counted = object_list.order_by()[: self.count_limit + 1].count()
        return CountBeyond(self.count_limit) if counted > self.count_limit else counted


@admin.register(Signature)
class SignatureAdmin(OfferedFiltersOnly):
    list_filter = [
        "state", FlaggedFilter, "comment_state", ("country", SignedCountryFilter),
        ("created_at", admin.DateFieldListFilter), "petition",
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
        if "@" in term:
            if not self._sees_emails(request):
                # Whether an address signed is the signer's secret too: no answer.
                return queryset.none(), False
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
            "repeat_notices_sent", "reminders_sent", "offline_batch",
        ]
        if self._sees_emails(request):
            fields[2:2] = ["email", "email_normalized"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        editable = ("first_name", "last_name", "country", "postcode")
        return [field for field in self.get_fields(request, obj) if field not in editable]

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

    @admin.action(
        description=_("Invalidate selected signatures (stop counting them, cancel unsent letters)"),
        permissions=["moderate"],
    )
    def invalidate(self, request, queryset):
        changed = moderation.signatures_invalidate(
            signature_ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user,
            reason=self._reason(request, "Invalidated in the admin"),
        )
        invalidated = ngettext("%(count)s signature(s) invalidated.", "%(count)s signature(s) invalidated.", changed)
        self.message_user(request, invalidated % {"count": changed}, messages.SUCCESS)

    @admin.action(description=_("Approve selected flagged signatures"), permissions=["moderate"])
    def approve(self, request, queryset):
        changed = moderation.signatures_approve(
            signature_ids=list(queryset.values_list("pk", flat=True)),
            actor=request.user,
            reason=self._reason(request, "Approved in the admin"),
        )
        approved = ngettext(
            "%(count)s flagged signature(s) approved.", "%(count)s flagged signature(s) approved.", changed
        )
        self.message_user(request, approved % {"count": changed}, messages.SUCCESS)

    @admin.action(description=_("Publish the selected signatures' comments"), permissions=["moderate"])
    def comments_approve(self, request, queryset):
        changed = moderation.comments_decide(
            signature_ids=list(queryset.values_list("pk", flat=True)), actor=request.user, approve=True
        )
        published = ngettext("%(count)s comment(s) published.", "%(count)s comment(s) published.", changed)
        self.message_user(request, published % {"count": changed}, messages.SUCCESS)

    @admin.action(description=_("Reject the selected signatures' comments"), permissions=["moderate"])
    def comments_reject(self, request, queryset):
        changed = moderation.comments_decide(
            signature_ids=list(queryset.values_list("pk", flat=True)), actor=request.user, approve=False
        )
        rejected = ngettext("%(count)s comment(s) rejected.", "%(count)s comment(s) rejected.", changed)
        self.message_user(request, rejected % {"count": changed}, messages.SUCCESS)

    @admin.action(
        description=_("Erase the selected signers' personal data everywhere (keeps the counts)"), permissions=["erase"]
    )
    def erase(self, request, queryset):
        erased = privacy.signatures_erase(signature_ids=list(queryset.values_list("pk", flat=True)))
        done = ngettext(
            "Erased the personal data of %(count)s signature(s).",
            "Erased the personal data of %(count)s signature(s).",
            erased,
        )
        self.message_user(request, done % {"count": erased}, messages.SUCCESS)

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
        context = self.admin_site.each_context(request) | {
            "title": gettext("Invalidate signatures by conditions"), "form": form, "opts": self.model._meta
        }
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
                    self.message_user(
                        request, gettext("The number of matching signatures changed; check the new count."),
                        messages.WARNING,
                    )
                else:
                    invalidated = ngettext(
                        "%(count)s signature(s) invalidated.", "%(count)s signature(s) invalidated.", changed
                    )
                    self.message_user(request, invalidated % {"count": changed}, messages.SUCCESS)
                    return redirect(reverse("admin:petitions_signature_changelist"))
        return TemplateResponse(request, "admin/petitions/signature/bulk_invalidate.html", context)


class BulkInvalidationForm(forms.Form):
    petition = forms.ModelChoiceField(queryset=Petition.objects.all(), label=_("Petition"))
    email_domain = forms.CharField(
        required=False, max_length=254, label=_("Email domain"), help_text=_("e.g. throwaway.example")
    )
    created_from = forms.DateTimeField(required=False, label=_("Created from"), help_text=_("YYYY-MM-DD HH:MM (UTC)"))
    created_to = forms.DateTimeField(required=False, label=_("Created to"))
    ip_hash = forms.CharField(required=False, max_length=64, label=_("IP hash"))
    country = forms.CharField(
        required=False, max_length=2, label=_("Country"), help_text=_("Two-letter code, e.g. FR")
    )
    flagged_only = forms.BooleanField(required=False, label=_("Only signatures flagged for review"))
    reason = forms.CharField(required=False, max_length=300, label=_("Reason"))
    expected_count = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        # forms.Form.clean returns cleaned_data, never None.
        data = cast(dict[str, Any], super().clean())
        narrowing = ("email_domain", "created_from", "created_to", "ip_hash", "country", "flagged_only")
        if not any(data.get(name) for name in narrowing):
            raise forms.ValidationError(gettext("Give at least one condition besides the petition."))
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
    list_filter = ["state", ("country", SignedCountryFilter), ("created_at", admin.DateFieldListFilter)]

    def get_queryset(self, request):
        # Signature's manager (SignatureQuerySet.as_manager()) makes its querysets.
        return cast(SignatureQuerySet, super().get_queryset(request)).flagged()


@admin.register(SignerComment)
class SignerCommentAdmin(_QueueAdmin):
    actions = ["comments_approve", "comments_reject", "invalidate"]
    list_filter = [("country", SignedCountryFilter)]

    def get_list_display(self, request):
        return ["first_name", "country", "comment", "state", "created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(comment_state=Signature.CommentState.PENDING)
