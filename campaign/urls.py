from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_control
from django.views.static import serve

from campaign.esp_webhooks import ResendTrackingWebhookView

urlpatterns = [
    path("staff/", admin.site.urls),
    # The ESP's tracking webhooks (bounces, complaints), authenticated by
    # anymail: ANYMAIL_WEBHOOK_SECRET and the ESP's own signature.
    path("anymail/resend/tracking/", ResendTrackingWebhookView.as_view(), name="resend_tracking_webhook"),
    path("anymail/", include("anymail.urls")),
    # The open API: outside any language prefix, since its address is a contract.
    path("api/v1/", include("petitions.api.urls")),
    # Staff's uploads; only staff can upload, and serve() keeps to MEDIA_ROOT.
    re_path(
        rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$",
        cache_control(public=True, max_age=86400)(serve), {"document_root": settings.MEDIA_ROOT}, name="media",
    ),
    path("", include("petitions.urls")),
]
