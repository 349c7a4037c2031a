"""Staff pages for paper and offline signatures (a batch typed in or uploaded
as CSV, previewed, then added whole) and for hand-over packs.

Adding and withdrawing batches needs `petitions.add_offline_signatures`;
making a hand-over pack needs `petitions.make_handover_pack`.
"""

from __future__ import annotations

import csv
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import AnonymousUser, User
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.forms import formset_factory
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from campaign.staff_site import StaffSite
from petitions.admin.records import RecordAdmin
from petitions.forms import (
    OFFLINE_COLUMNS,
    OfflineFileError,
    OfflineSignatureForm,
    offline_csv_rows,
    offline_row_data,
)
from petitions.models import ConsentWording, HandoverPack, OfflineBatch, Petition
from petitions.services import handover, offline

site = cast(StaffSite, admin.site)
OFFLINE_PERMISSION = "petitions.add_offline_signatures"
HANDOVER_PERMISSION = "petitions.make_handover_pack"
TYPED_ROWS = 10
# The preview's rows travel to the commit signed, so what is added is what was shown.
PREVIEW_SALT = "petitions.offline-batch-preview"
PACKS_SHOWN = 50


def _allowed(user: User | AnonymousUser, permission: str) -> bool:
    return user.is_active and user.is_staff and user.has_perm(permission)


def _wordings(kind: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=ConsentWording.objects.filter(kind=kind).order_by("-version"),
        required=False,
        empty_label=_("The paper form did not ask for this"),
    )


class OfflineBatchForm(forms.Form):
    petition = forms.ModelChoiceField(
        label=_("Petition"), queryset=Petition.objects.order_by("-created_at"), empty_label=None
    )
    collected_on = forms.DateField(
        label=_("Collected on"), widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The day the paper forms were signed."),
    )
    place = forms.CharField(label=_("Event or place"), max_length=200)
    scan_reference = forms.CharField(
        label=_("Scan reference"), max_length=200, help_text=_("Where the scan of the paper forms is kept.")
    )
    letter_consent = _wordings(ConsentWording.Kind.LETTER)
    reply_consent = _wordings(ConsentWording.Kind.REPLY)
    updates_consent = _wordings(ConsentWording.Kind.UPDATES)
    file = forms.FileField(
        label=_("CSV file"), required=False,
        help_text=_("Leave empty to type the rows below instead. Start from the template."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["letter_consent"].label = _("Letter consent printed on the paper form")
        self.fields["reply_consent"].label = _("Reply consent printed on the paper form")
        self.fields["updates_consent"].label = _("Updates consent printed on the paper form")
        for kind in ("letter", "reply", "updates"):
            current = ConsentWording.objects.filter(kind=kind).order_by("-version").first()
            self.fields[f"{kind}_consent"].initial = current.pk if current else None

    def consents(self) -> offline.PaperConsents:
        return offline.PaperConsents(
            letter=self.cleaned_data["letter_consent"], reply=self.cleaned_data["reply_consent"],
            updates=self.cleaned_data["updates_consent"],
        )


RowFormSet = formset_factory(OfflineSignatureForm, extra=TYPED_ROWS, max_num=500)


def _checked_rows(
    raw_rows: list[dict[str, str]], consents: offline.PaperConsents
) -> tuple[list[offline.OfflineRow | None], list[list[str]]]:
    """Each row through the online form's fields: (the row or None, its errors)."""
    rows: list[offline.OfflineRow | None] = []
    errors: list[list[str]] = []
    for raw in raw_rows:
        data, cell_errors = offline_row_data(raw)
        form = OfflineSignatureForm(data, paper_consents=consents.kinds())
        row_errors = list(cell_errors)
        if form.is_valid() and not cell_errors:
            clean = form.cleaned_data
            rows.append(offline.OfflineRow(
                first_name=clean["first_name"], last_name=clean["last_name"], country=clean["country"],
                email=clean["email"], postcode=clean["postcode"], letter=clean["letter_consent"],
                reply=clean["reply_consent"], updates=clean["updates_consent"],
            ))
        else:
            rows.append(None)
            for field, messages_of_field in form.errors.items():
                label = "" if field == "__all__" else f"{field}: "
                row_errors.extend(f"{label}{message}" for message in messages_of_field)
        errors.append(row_errors)
    return rows, errors


def _typed(formset: Any) -> list[dict[str, str]]:
    """The typed rows that were filled in, as CSV-like cells."""
    rows = []
    for form in formset.forms:
        if not form.has_changed():
            continue
        data = {name: form.data.get(form.add_prefix(name), "") for name in OFFLINE_COLUMNS}
        for name in ("letter_consent", "reply_consent", "updates_consent"):
            data[name] = "yes" if data[name] else "no"
        rows.append(data)
    return rows


@site.page("petitions/offline/", name="petitions_offline_add")
def offline_add_view(request: HttpRequest) -> HttpResponseBase:
    if not _allowed(request.user, OFFLINE_PERMISSION):
        raise PermissionDenied
    user = cast(User, request.user)
    if request.method == "POST" and request.POST.get("payload"):
        return _commit(request, user)
    form = OfflineBatchForm(request.POST or None, request.FILES or None)
    formset = RowFormSet(request.POST or None, prefix="row", form_kwargs={"paper_consents": frozenset(
        ("letter", "reply", "updates"))})
    context: dict[str, Any] = {"title": _("Add paper signatures"), "form": form, "formset": formset}
    status = 200
    if request.method == "POST" and form.is_valid():
        consents = form.consents()
        try:
            uploaded = form.cleaned_data["file"]
            raw_rows = offline_csv_rows(uploaded) if uploaded else _typed(formset)
        except OfflineFileError as error:
            form.add_error("file", str(error))
            raw_rows = []
        if not raw_rows and not form.errors:
            form.add_error(None, _("Type at least one row, or upload a CSV file."))
        if raw_rows:
            context |= _preview(form, consents, raw_rows)
    if request.method == "POST" and (form.errors or context.get("error_count")):
        status = 400
    context = site.each_context(request) | context
    return TemplateResponse(request, "admin/petitions/offline_add.html", context, status=status)


def _preview(form: OfflineBatchForm, consents: offline.PaperConsents, raw_rows: list[dict[str, str]]) -> dict[str, Any]:
    rows, errors = _checked_rows(raw_rows, consents)
    valid = [row for row in rows if row is not None]
    verdicts = iter(offline.offline_rows_sort(petition=form.cleaned_data["petition"], rows=valid))
    preview = []
    for number, (raw, row, row_errors) in enumerate(zip(raw_rows, rows, errors, strict=True), start=1):
        duplicate = next(verdicts) if row is not None else ""
        preview.append({"number": number, "raw": raw, "row": row, "errors": row_errors, "duplicate": duplicate})
    error_count = sum(1 for entry in preview if entry["errors"])
    duplicate_count = sum(1 for entry in preview if entry["duplicate"])
    payload = ""
    if not error_count:
        batch = {
            key: form.data.get(key, "")
            for key in ("petition", "collected_on", "place", "scan_reference", "letter_consent", "reply_consent",
                        "updates_consent")
        }
        payload = signing.dumps({"batch": batch, "rows": raw_rows}, salt=PREVIEW_SALT, compress=True)
    return {
        "preview": preview, "error_count": error_count, "duplicate_count": duplicate_count,
        "adding_count": len(preview) - error_count - duplicate_count, "payload": payload,
    }


def _commit(request: HttpRequest, user: User) -> HttpResponseBase:
    try:
        given = signing.loads(request.POST["payload"], salt=PREVIEW_SALT, max_age=3600)
    except signing.BadSignature:
        messages.error(request, _("The preview was too old or damaged: please preview the batch again."))
        return HttpResponseRedirect(reverse("admin:petitions_offline_add"))
    form = OfflineBatchForm(given["batch"])
    if not form.is_valid():
        raise PermissionDenied
    rows, errors = _checked_rows(given["rows"], form.consents())
    if any(errors):
        raise PermissionDenied
    try:
        batch = offline.offline_batch_add(
            petition=form.cleaned_data["petition"], rows=[row for row in rows if row is not None], entered_by=user,
            collected_on=form.cleaned_data["collected_on"], place=form.cleaned_data["place"],
            scan_reference=form.cleaned_data["scan_reference"], consents=form.consents(),
        )
    except offline.BatchConflict:
        messages.error(request, _("An address of the batch signed meanwhile; nothing was added. Preview it again."))
        return HttpResponseRedirect(reverse("admin:petitions_offline_add"))
    messages.success(
        request,
        _("Added %(added)d paper signatures; %(duplicates)d duplicates left out.")
        % {"added": batch.signature_count, "duplicates": batch.duplicate_count},
    )
    return HttpResponseRedirect(reverse("admin:petitions_offlinebatch_change", args=[batch.pk]))


@site.page("petitions/offline/template.csv", name="petitions_offline_template")
def offline_template_view(request: HttpRequest) -> HttpResponseBase:
    if not _allowed(request.user, OFFLINE_PERMISSION):
        raise PermissionDenied
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="paper-signatures-template.csv"'
    response.write("\ufeff")  # so that spreadsheets read the file as UTF-8
    writer = csv.writer(response)
    writer.writerow(OFFLINE_COLUMNS)
    writer.writerow(["Amira", "Haddad", "TN", "amira@example.org", "", "yes", "no", "yes"])
    return response


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Why"), max_length=300)


@admin.register(OfflineBatch)
class OfflineBatchAdmin(RecordAdmin):
    list_display = [
        "entered_at", "petition", "place", "collected_on", "signature_count", "duplicate_count", "entered_by",
        "withdrawn_at",
    ]
    list_filter = ["petition"]
    readonly_fields = [
        "petition", "entered_by", "entered_at", "collected_on", "place", "scan_reference", "letter_consent",
        "reply_consent", "updates_consent", "signature_count", "duplicate_count", "withdrawn_at", "withdrawn_by",
        "withdrawn_reason", "withdraw",
    ]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm(OFFLINE_PERMISSION)

    @admin.display(description=_("Withdraw"))
    def withdraw(self, batch: OfflineBatch) -> str:
        if batch.withdrawn_at is not None:
            return str(_("Withdrawn."))
        return format_html(
            '<a class="button" id="withdraw-batch" href="{}">{}</a>',
            reverse("admin:petitions_offlinebatch_withdraw", args=[batch.pk]), _("Withdraw the whole batch"),
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.withdraw_view)
        return [path("<int:batch_id>/withdraw/", view, name="petitions_offlinebatch_withdraw")] + super().get_urls()

    def withdraw_view(self, request: HttpRequest, batch_id: int) -> HttpResponseBase:
        if not _allowed(request.user, OFFLINE_PERMISSION):
            raise PermissionDenied
        batch = get_object_or_404(OfflineBatch, pk=batch_id)
        form = WithdrawForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            withdrawn = offline.offline_batch_withdraw(
                batch_id=batch.pk, actor=cast(User, request.user), reason=form.cleaned_data["reason"]
            )
            messages.success(
                request, _("Batch withdrawn: %(count)d signatures no longer count.") % {"count": withdrawn}
            )
            return HttpResponseRedirect(reverse("admin:petitions_offlinebatch_change", args=[batch.pk]))
        context = self.admin_site.each_context(request) | {
            "title": _("Withdraw a batch of paper signatures"), "batch": batch, "form": form, "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/petitions/offline_withdraw.html", context)


class HandoverForm(forms.Form):
    petition = forms.ModelChoiceField(
        label=_("Petition"), queryset=Petition.objects.order_by("-created_at"), empty_label=None
    )
    recipients = forms.CharField(
        label=_("Recipients"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, as printed on the cover. Empty: the petition's active recipients."),
    )


@site.page("petitions/handover/", name="petitions_handover")
def handover_view(request: HttpRequest) -> HttpResponseBase:
    if not _allowed(request.user, HANDOVER_PERMISSION):
        raise PermissionDenied
    if request.GET.get("pack"):
        return _pack_file(request.GET["pack"], request.GET.get("file", "pdf"))
    form = HandoverForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        petition = form.cleaned_data["petition"]
        recipients = [line.strip() for line in form.cleaned_data["recipients"].splitlines() if line.strip()]
        if not recipients:
            recipients = [str(target) for target in petition.targets.filter(is_active=True)]
        pack = handover.handover_pack_request(
            petition=petition, created_by=cast(User, request.user), recipients=recipients
        )
        messages.success(
            request,
            _("Hand-over pack %(number)d is being made; reload this page in a minute to download it.")
            % {"number": pack.pk},
        )
        return HttpResponseRedirect(reverse("admin:petitions_handover"))
    context = site.each_context(request) | {
        "title": _("Hand-over pack"), "form": form,
        "packs": HandoverPack.objects.select_related("petition", "created_by")[:PACKS_SHOWN],
        "made_at": timezone.now(),
    }
    return TemplateResponse(request, "admin/petitions/handover.html", context)


def _pack_file(pack_id: str, kind: str) -> HttpResponseBase:
    pack = get_object_or_404(HandoverPack, pk=pack_id if pack_id.isdigit() else 0, completed_at__isnull=False)
    csv_path, pdf_path = handover.handover_paths(pack)
    chosen = {"csv": csv_path, "pdf": pdf_path}.get(kind)
    if chosen is None or not chosen.exists():
        raise Http404
    # FileResponse streams the file in blocks.
    return FileResponse(chosen.open("rb"), as_attachment=True, filename=chosen.name)
