"""What every page needs to offer itself in the other languages: the
`hreflang` alternates and the language switcher's links."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import translate_url
from django.utils.translation import get_language


def language_alternates(path: str) -> list[dict[str, Any]]:
    """The page at `path` in each language: code, name, path, absolute URL,
    and whether it is the language being shown."""
    current = get_language()
    alternates = []
    for code, name in settings.LANGUAGES:
        translated = translate_url(path, code)
        alternates.append(
            {
                "code": code,
                "name": name,
                "path": translated,
                "url": f"{settings.SITE_URL}{translated}",
                "is_current": code == current,
            }
        )
    return alternates


def languages(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the alternates of the page being rendered."""
    return {"alternates": language_alternates(request.path)}
