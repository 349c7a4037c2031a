from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_control
from django.views.static import serve

from campaign.esp_webhooks import ResendInboundWebhookView, ResendTrackingWebhookView
from petitions import views as petition_views

urlpatterns = [
    path("staff/", admin.site.urls),
    # The ESP's tracking webhooks (bounces, complaints), authenticated by
    # anymail: ANYMAIL_WEBHOOK_SECRET and the ESP's own signature.
    path("anymail/resend/tracking/", ResendTrackingWebhookView.as_view(), name="resend_tracking_webhook"),
    # Mail that comes back to the recipients' reply addresses (REPLY_DOMAIN),
    # authenticated the same way (RESEND_INBOUND_SECRET signs it).
    path("anymail/resend/inbound/", ResendInboundWebhookView.as_view(), name="resend_inbound_webhook"),
    path("anymail/", include("anymail.urls")),
    # Unsubscribe links sent before addresses carried a language: a mail
    # client's one-click unsubscribe is a POST, which a redirect would lose.
    path("unsubscribe/<str:token>/", petition_views.unsubscribe, name="unsubscribe_unprefixed"),
    # The open API: outside any language prefix, since its address is a contract.
    path("api/v1/", include("petitions.api.urls")),
    # Staff's uploads; only staff can upload, and serve() keeps to MEDIA_ROOT.
    re_path(
        rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>.*)$",
        cache_control(public=True, max_age=86400)(serve), {"document_root": settings.MEDIA_ROOT}, name="media",
    ),
]

# Every public page, under its language: /en/p/<slug>/, /fr/p/<slug>/, /ar/p/<slug>/.
# An address without a language (/, /p/<slug>/, links in older emails) is
# redirected by LocaleMiddleware to the one the browser prefers.
urlpatterns += i18n_patterns(path("", include("petitions.urls")))
