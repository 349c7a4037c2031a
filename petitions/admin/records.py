"""The read-only base for records the system keeps."""

from django.contrib import admin


class RecordAdmin(admin.ModelAdmin):
    """Records the system keeps: staff read them and act through actions only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
