from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Campaign staff"
admin.site.site_title = "Campaign staff"

urlpatterns = [
    path("staff/", admin.site.urls),
    path("", include("petitions.urls")),
]
