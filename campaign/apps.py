from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """Django's admin, on the campaign's own site class (campaign.staff_site)."""

    default_site = "campaign.staff_site.StaffSite"
