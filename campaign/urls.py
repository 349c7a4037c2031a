from django.contrib import admin
from django.urls import include, path

from campaign.esp_webhooks import ResendTrackingWebhookView
from petitions import dashboard, exports

admin.site.site_header = "Campaign staff"
admin.site.site_title = "Campaign staff"

# The dashboard and the export are pages of the staff site itself, not of one model.
_admin_site_urls = admin.site.get_urls
admin.site.get_urls = lambda: dashboard.admin_urls(admin.site) + exports.admin_urls(admin.site) + _admin_site_urls()

urlpatterns = [
    path("staff/", admin.site.urls),
    # The ESP's tracking webhooks (bounces, complaints), authenticated by
    # anymail: ANYMAIL_WEBHOOK_SECRET and the ESP's own signature.
    path("anymail/resend/tracking/", ResendTrackingWebhookView.as_view(), name="resend_tracking_webhook"),
    path("anymail/", include("anymail.urls")),
    path("", include("petitions.urls")),
]
