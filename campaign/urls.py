from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Campaign staff"
admin.site.site_title = "Campaign staff"

urlpatterns = [
    path("staff/", admin.site.urls),
    # The ESP's tracking webhooks (bounces, complaints), authenticated by
    # anymail: ANYMAIL_WEBHOOK_SECRET and the ESP's own signature.
    path("anymail/", include("anymail.urls")),
    path("", include("petitions.urls")),
]
