"""Staff tools for the recipients' replies: the review queue, approving a
reply (with an excerpt and a note) so it is shown and sent to supporters, and
the automatic replies kept apart. Every decision is a call to
petitions.services.replies."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from petitions.admin.records import OfferedFiltersOnly, RecordAdmin
from petitions.models import AutoReply, RecipientReply
from petitions.services import replies

_SHOWN: list[str] = [
    "received_at", "from_name", "from_address", "to_address", "subject", "matched_by", "reply_text",
    "attachment_list", "state", "decided_at", "mailing",
]


class _ReplyShown:
    @admin.display(description=_("text"))
    def reply_text(self, reply: RecipientReply) -> str:
        # Escaped, never the message's own HTML: it came from outside.
        return format_html('<div class="reply-text" dir="auto">{}</div>', reply.text)

    @admin.display(description=_("attachments"))
    def attachment_list(self, reply: RecipientReply) -> str:
        # Names and sizes only: attachments are never served from this site.
        attachments = reply.attachments.all()
        if not attachments:
            return "-"
        return format_html_join(
            "", "<div>{} ({}, {} bytes)</div>", ((a.filename, a.content_type, a.size) for a in attachments)
        )


@admin.register(RecipientReply)
class RecipientReplyAdmin(_ReplyShown, OfferedFiltersOnly):
    """The review queue: replies by people, newest first, pending ones on top."""

    list_display = ["subject", "target", "petition", "from_address", "received_at", "state", "matched_by"]
    list_filter = ["state", "petition"]
    change_form_template = "admin/petitions/recipientreply/change_form.html"
    fields = ("petition", "target", *_SHOWN, "excerpt", "note")

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(kind=RecipientReply.Kind.REPLY).select_related("target", "petition")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None and obj.state == RecipientReply.State.PENDING:
            # Staff name the petition and recipient of a reply that matched none.
            return _SHOWN if obj.target_id is None else ["petition", "target", *_SHOWN]
        return ["petition", "target", *_SHOWN, "excerpt", "note"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _may_decide(self, request: HttpRequest) -> bool:
        return request.user.has_perm("petitions.approve_recipientreply")

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """A POST from the review page approves or rejects through the service;
        the reply itself is never saved by the admin form."""
        if request.method == "POST" and object_id and ("_approve" in request.POST or "_reject" in request.POST):
            return self._decide(request, object_id)
        extra_context = (extra_context or {}) | {"may_decide": self._may_decide(request)}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _decide(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self._may_decide(request):
            raise PermissionDenied
        reply = self.get_object(request, object_id)
        if reply is None:
            raise PermissionDenied
        editable = ["excerpt", "note"] + (["petition", "target"] if reply.target_id is None else [])
        form = self.get_form(request, reply, fields=editable)(request.POST, instance=reply)
        if not form.is_valid():
            messages.error(request, _("Please correct the fields below: %(errors)s") % {"errors": form.errors})
            return redirect("admin:petitions_recipientreply_change", reply.pk)
        data = form.cleaned_data
        actor = getattr(request.user, "pk", None)
        if "_reject" in request.POST:
            replies.reply_reject(reply_id=reply.pk, actor_id=actor, note=data.get("note", ""))
            messages.success(request, _("The reply will not be shown or sent."))
            return redirect("admin:petitions_recipientreply_changelist")
        try:
            mailing = replies.reply_approve(
                reply_id=reply.pk, actor_id=actor, excerpt=data.get("excerpt", ""), note=data.get("note", ""),
                petition_id=getattr(data.get("petition"), "pk", None),
                target_id=getattr(data.get("target"), "pk", None),
            )
        except replies.ReplyStateError as error:
            messages.error(request, str(error))
            return redirect("admin:petitions_recipientreply_change", reply.pk)
        messages.success(
            request,
            _(
                "Approved: the response is on the petition's page and is being sent to the supporters"
                " (update “%(subject)s”)."
            ) % {"subject": mailing.subject},
        )
        return redirect("admin:petitions_recipientreply_changelist")


@admin.register(AutoReply)
class AutoReplyAdmin(_ReplyShown, RecordAdmin):
    """Out-of-office and other automatic replies: kept, read, never shown or sent."""

    list_display = ["subject", "target", "from_address", "received_at", "auto_reason"]
    list_filter = ["petition"]
    fields = ("petition", "target", "auto_reason", *_SHOWN)
    readonly_fields = ("petition", "target", "auto_reason", *_SHOWN)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(kind=RecipientReply.Kind.AUTO_REPLY).select_related("target")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("petitions.view_autoreply") or request.user.has_perm(
            "petitions.view_recipientreply"
        )
