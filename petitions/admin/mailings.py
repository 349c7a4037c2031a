"""Staff tools for mailings: drafting, previewing, test-sending and sending updates to supporters."""

from csp.decorators import csp as csp_policy
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from petitions import emails
from petitions.admin.records import OfferedFiltersOnly
from petitions.models import Mailing, MailingTranslation
from petitions.selectors.mailings import mailing_audience_by_language, mailing_audience_count, mailing_progress
from petitions.services import mailings

# The preview response's own Content-Security-Policy, in place of the site's:
# the email's inline styles and remote images apply, and nothing else loads or
# runs. It may be framed by this site's pages (the admin's policy allows frames
# from 'self'), and `sandbox` gives it an opaque origin even if opened directly.
PREVIEW_POLICY = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["https:", "data:"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "frame-ancestors": ["'self'"],
    "sandbox": True,
}


class MailingTranslationInline(admin.StackedInline):
    """The update in more languages: each supporter gets theirs, or the mailing's own."""

    model = MailingTranslation
    extra = 0

    def _draft(self, obj):
        return obj is None or obj.state == Mailing.State.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


@admin.register(Mailing)
class MailingAdmin(OfferedFiltersOnly):
    class Media:
        css = {"all": ["css/admin-extra.css", "css/admin-mailing.css"]}

    list_display = ["subject", "petition", "state", "created_at", "started_at", "finished_at"]
    list_filter = ["state", "petition"]
    change_form_template = "admin/petitions/mailing/change_form.html"
    inlines = [MailingTranslationInline]

    def get_fields(self, request, obj=None):
        fields = ["petition", "language", "subject", "body"]
        return fields if obj is None else [*fields, "state", "preview"]

    def get_readonly_fields(self, request, obj=None):
        # A started mailing is read-only as a whole: see has_change_permission.
        return [] if obj is None else ["state", "preview"]

    def has_change_permission(self, request, obj=None):
        # Once started, a mailing is the record of what supporters were sent:
        # its page is read-only (Django then shows no Save and refuses a POST).
        # Pausing, resuming and cancelling have their own views; see _may_operate.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.state == Mailing.State.DRAFT)

    def has_delete_permission(self, request, obj=None):
        # Deleting a started mailing would delete the record of who got it.
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.state == Mailing.State.DRAFT)

    def _may_operate(self, request: HttpRequest) -> bool:
        """Whether this staff member may test, send, pause, resume or cancel mailings, whatever their state."""
        return super().has_change_permission(request)

    @admin.display(description=_("preview"))
    def preview(self, mailing):
        subject, _text, _html = emails.mailing_preview(mailing)
        # The email is shown from its own URL, in a sandboxed frame with its own
        # Content-Security-Policy (PREVIEW_POLICY): inline in this page, or in a
        # srcdoc frame, which inherits this page's policy, its styles would be stripped.
        return format_html(
            '<p><strong>{}</strong> {}</p>'
            '<iframe sandbox src="{}" title="{}" class="mailing-preview-frame">'
            "</iframe>",
            gettext("Subject:"),
            subject,
            reverse("admin:petitions_mailing_preview", args=[mailing.pk]),
            gettext("The email as supporters will see it"),
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        def view(function, name):
            view = self.admin_site.admin_view(function)
            return path(f"<int:mailing_id>/{name}/", view, name=f"petitions_mailing_{name}")

        return [
            view(self.progress_view, "progress"),
            view(self.preview_view, "preview"),
            view(self.send_view, "send"),
            view(self.test_view, "test"),
            view(self.pause_view, "pause"),
            view(self.resume_view, "resume"),
            view(self.cancel_view, "cancel"),
        ] + super().get_urls()

    def _mailing(self, request, mailing_id, *, change=True):
        mailing = get_object_or_404(Mailing.objects.select_related("petition"), pk=mailing_id)
        allowed = self._may_operate(request) if change else self.has_view_permission(request, mailing)
        if not allowed:
            raise PermissionDenied
        return mailing

    def _back(self, mailing):
        return redirect(reverse("admin:petitions_mailing_change", args=[mailing.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        mailing = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if mailing is not None:
            extra_context["progress"] = mailing_progress(mailing)
            extra_context["mailing"] = mailing
            extra_context["may_operate"] = self._may_operate(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def progress_view(self, request, mailing_id):
        mailing = self._mailing(request, mailing_id, change=False)
        return JsonResponse(mailing_progress(mailing) | {"state": mailing.get_state_display()})

    # The one admin response that may be framed (by this site's own pages only),
    # under its own policy: X-Frame-Options SAMEORIGIN and PREVIEW_POLICY for
    # this response alone; every other page keeps DENY and frame-ancestors 'none'.
    @method_decorator(xframe_options_sameorigin)
    @method_decorator(csp_policy(PREVIEW_POLICY))
    def preview_view(self, request: HttpRequest, mailing_id: int) -> HttpResponse:
        """The mailing's HTML exactly as supporters get it, for the preview frame."""
        mailing = self._mailing(request, mailing_id, change=False)
        _subject, _text, html = emails.mailing_preview(mailing)
        return HttpResponse(html, content_type="text/html; charset=utf-8")

    def send_view(self, request, mailing_id):
        mailing = self._mailing(request, mailing_id)
        if request.method == "POST":
            try:
                count = mailings.mailing_start(mailing_id=mailing.pk)
            except mailings.MailingStateError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                sending = ngettext("Sending to %(count)s supporter(s).", "Sending to %(count)s supporter(s).", count)
                self.message_user(request, sending % {"count": count}, messages.SUCCESS)
            return self._back(mailing)
        context = self.admin_site.each_context(request) | {
            "title": gettext("Send this update?"),
            "mailing": mailing,
            "audience": mailing_audience_count(mailing),
            "audience_by_language": mailing_audience_by_language(mailing),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/petitions/mailing/send_confirm.html", context)

    def test_view(self, request, mailing_id):
        mailing = self._mailing(request, mailing_id)
        if request.method != "POST":
            return self._back(mailing)
        if not request.user.email:
            self.message_user(
                request, gettext("Your staff account has no email address to send the test to."), messages.ERROR
            )
        else:
            mailings.mailing_test_send(mailing_id=mailing.pk, to_email=request.user.email)
            on_its_way = gettext("A test copy is on its way to %(email)s.") % {"email": request.user.email}
            self.message_user(request, on_its_way, messages.SUCCESS)
        return self._back(mailing)

    def _transition_view(self, request, mailing_id, service, done):
        mailing = self._mailing(request, mailing_id)
        if request.method == "POST":
            if service(mailing_id=mailing.pk):
                self.message_user(request, done, messages.SUCCESS)
            else:
                unchanged = gettext("Nothing changed: this update is %(state)s.") % {
                    "state": mailing.get_state_display().lower()
                }
                self.message_user(request, unchanged, messages.WARNING)
        return self._back(mailing)

    def pause_view(self, request, mailing_id):
        return self._transition_view(
            request, mailing_id, mailings.mailing_pause, gettext("Paused after the batches in flight.")
        )

    def resume_view(self, request, mailing_id):
        return self._transition_view(request, mailing_id, mailings.mailing_resume, gettext("Sending again."))

    def cancel_view(self, request, mailing_id):
        return self._transition_view(
            request, mailing_id, mailings.mailing_cancel, gettext("Cancelled: nothing more will be sent.")
        )
