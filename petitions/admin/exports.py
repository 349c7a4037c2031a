"""The staff page that exports a petition's signatures as CSV (admin:petitions_export).

Only staff with `petitions.export_signature` may export; the email column
also needs `petitions.view_signer_email`, and is never ticked by default.
Every export is recorded when it starts, and its digest once every byte is sent.
"""

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaign.staff_site import StaffSite
from petitions.models import Petition, Signature, SignatureExport
from petitions.selectors.exports import COLUMNS, COLUMNS_BY_KEY, csv_stream, signatures_for_export
from petitions.services.exports import signature_export_complete, signature_export_start

# The staff site, as the class that takes pages (campaign.staff_site).
site = cast(StaffSite, admin.site)

PAST_EXPORTS_SHOWN = 50


def export_allowed(user: User | AnonymousUser) -> bool:
    return user.is_active and user.is_staff and user.has_perm("petitions.export_signature")


class ExportForm(forms.Form):
    petition = forms.ModelChoiceField(
        queryset=Petition.objects.order_by("-created_at"), empty_label=None, label=_("Petition")
    )
    columns = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label=_("Columns"))
    states = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        choices=Signature.State.choices,
        initial=[Signature.State.CONFIRMED],
        label=_("Signatures"),
        help_text=_("Only confirmed signatures count towards the petition."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email_allowed = user.has_perm("petitions.view_signer_email")
        # The instances of the fields declared above.
        columns_field = cast(forms.MultipleChoiceField, self.fields["columns"])
        petition_field = cast("forms.ModelChoiceField[Petition]", self.fields["petition"])
        columns_field.choices = [
            (
                column.key,
                gettext("%(column)s (personal data)") % {"column": column.header} if column.personal else column.header,
            )
            for column in COLUMNS
            if self.email_allowed or not column.personal
        ]
        columns_field.initial = [column.key for column in COLUMNS if column.default]
        petitions = petition_field.queryset
        assert petitions is not None  # Declared with one above.
        petition_field.initial = petitions.first()

    def clean_columns(self) -> list[str]:
        # Keep the order of the file fixed whatever order the browser sends.
        chosen = set(self.cleaned_data["columns"])
        return [column.key for column in COLUMNS if column.key in chosen]


# StaffSite.page takes views typed as returning HttpResponse, but this one
# streams (StreamingHttpResponse, which Django serves like any other
# HttpResponseBase). The fix belongs in campaign/staff_site.py (View returning
# HttpResponseBase); then this ignore is reported as unused and can go.
@site.page("petitions/export/", name="petitions_export")
def export_view(request: HttpRequest) -> HttpResponseBase:
    if not export_allowed(request.user):
        raise PermissionDenied
    # Signed in: the staff site's login stands before every page, and
    # export_allowed() refuses the anonymous user (never active nor staff).
    user = cast(User, request.user)
    form = ExportForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        petition, columns = form.cleaned_data["petition"], form.cleaned_data["columns"]
        rows, fields = signatures_for_export(petition=petition, states=form.cleaned_data["states"], columns=columns)
        export = signature_export_start(petition=petition, user=user, columns=columns)

        def recorded(sha256: str, row_count: int) -> None:
            signature_export_complete(export_id=export.pk, sha256=sha256, row_count=row_count)

        stream = csv_stream(rows=rows, fields=fields, columns=columns, on_complete=recorded)
        response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        filename = f"{petition.slug}-signatures-{export.created_at:%Y%m%d-%H%M%S}-export-{export.pk}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Export-Id"] = str(export.pk)
        return response
    context = site.each_context(request) | {
        "title": gettext("Export signatures"),
        "form": form,
        "exports": [
            (export, [COLUMNS_BY_KEY[key].header if key in COLUMNS_BY_KEY else key for key in export.columns])
            for export in SignatureExport.objects.select_related("petition", "created_by")[:PAST_EXPORTS_SHOWN]
        ],
        "exports_shown": PAST_EXPORTS_SHOWN,
    }
    return TemplateResponse(request, "admin/petitions/export.html", context, status=400 if form.errors else 200)
