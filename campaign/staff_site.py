"""The staff site: Django's admin, with the campaign's own pages beside the models'.

It lives outside the `petitions.admin` package because Django builds the
default site while that package is being imported (each ModelAdmin registers
on it); pages register here the same way, with `page`.
"""

from collections.abc import Callable

from django.contrib import admin
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, path

View = Callable[[HttpRequest], HttpResponseBase]


class StaffSite(admin.AdminSite):
    site_header = "Campaign staff"
    site_title = "Campaign staff"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._pages: list[tuple[str, View, str]] = []

    def page(self, route: str, *, name: str) -> Callable[[View], View]:
        """Register a staff page that is not one model's (a dashboard, an export)
        at `route` under the site, named `admin:<name>`, behind the site's login."""

        def register(view: View) -> View:
            self._pages.append((route, view, name))
            return view

        return register

    def get_urls(self) -> list[URLResolver | URLPattern]:
        pages: list[URLResolver | URLPattern] = [
            path(route, self.admin_view(view), name=name) for route, view, name in self._pages
        ]
        return pages + super().get_urls()
