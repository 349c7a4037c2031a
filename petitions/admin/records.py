"""Bases for the staff site's ModelAdmins: records the system keeps, and the
rule that lists are filtered only as they offer."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

SIGNER_EMAIL_PERMISSION = "petitions.view_signer_email"


def sees_signer_emails(request: HttpRequest) -> bool:
    return request.user.has_perm(SIGNER_EMAIL_PERMISSION)


class OfferedFiltersOnly(admin.ModelAdmin):
    """Filters only by what the list offers.

    Django's admin accepts any lookup on a model's own fields in the URL
    (`?email__istartswith=a`), so "1 result" or "0 results" would let anyone
    who can see the list read a signer's address a letter at a time. Only the
    fields of `list_filter` and `date_hierarchy` may be filtered on."""

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        offered: set[str] = {str(self.date_hierarchy)} if self.date_hierarchy else set()
        for entry in self.list_filter:
            if isinstance(entry, str):
                offered.add(entry)
            elif isinstance(entry, tuple | list) and isinstance(entry[0], str):
                offered.add(entry[0])
        field = lookup.split("__", 1)[0]
        return field in offered and super().lookup_allowed(lookup, value, request)


class RecordAdmin(OfferedFiltersOnly):
    """Records the system keeps: staff read them and act through actions only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
