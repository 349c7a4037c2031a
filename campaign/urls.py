from django.contrib import admin
from django.urls import include, path

from campaign.esp_webhooks import ResendInboundWebhookView, ResendTrackingWebhookView

urlpatterns = [
    path("staff/", admin.site.urls),
    # The ESP's tracking webhooks (bounces, complaints), authenticated by
    # anymail: ANYMAIL_WEBHOOK_SECRET and the ESP's own signature.
    path("anymail/resend/tracking/", ResendTrackingWebhookView.as_view(), name="resend_tracking_webhook"),
    # Mail that comes back to the recipients' reply addresses (REPLY_DOMAIN),
    # authenticated the same way (RESEND_INBOUND_SECRET signs it).
    path("anymail/resend/inbound/", ResendInboundWebhookView.as_view(), name="resend_inbound_webhook"),
    path("anymail/", include("anymail.urls")),
    path("", include("petitions.urls")),
]
