from django.contrib import admin
from django.urls import include, path

from campaign.esp_webhooks import ResendTrackingWebhookView

urlpatterns = [
    path("staff/", admin.site.urls),
    # The ESP's tracking webhooks (bounces, complaints), authenticated by
    # anymail: ANYMAIL_WEBHOOK_SECRET and the ESP's own signature.
    path("anymail/resend/tracking/", ResendTrackingWebhookView.as_view(), name="resend_tracking_webhook"),
    path("anymail/", include("anymail.urls")),
    # The open API: outside any language prefix, since its address is a contract.
    path("api/v1/", include("petitions.api.urls")),
    path("", include("petitions.urls")),
]
