"""The petition's texts, recipients and consent wordings, as the seed and staff set them."""

from __future__ import annotations

import io

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageOps

from petitions.content import libya, libya_translations
from petitions.models import (
    BackgroundFact,
    BackgroundFactTranslation,
    ConsentWording,
    Demand,
    DemandTranslation,
    Petition,
    PetitionTranslation,
    RateLimit,
    Target,
)
from petitions.services.screening import DEFAULT_LIMITS


def petition_save(*, petition: Petition) -> Petition:
    """Save staff's edits to a petition, noting when it closed (for
    anonymisation), and make the resized copies of its hero image."""
    if not petition.is_open and petition.closed_at is None:
        petition.closed_at = timezone.now()
    elif petition.is_open:
        petition.closed_at = None
    with transaction.atomic():
        petition.save()
    if petition.hero_image:
        hero_variants_make(petition=petition)
    return petition


def petition_translation_save(*, translation: PetitionTranslation) -> PetitionTranslation:
    """Save staff's translation of a petition; pages in its language show it
    from the next page build (the page caches are cleared on save)."""
    translation.updated_at = timezone.now()
    with transaction.atomic():
        translation.save()
    return translation
def hero_variants_make(*, petition: Petition) -> list[str]:
    """Write the hero image's copies at Petition.HERO_WIDTHS (JPEG, never wider
    than the original), replacing any of the same name. Idempotent; returns
    their storage names."""
    storage = petition.hero_image.storage
    names = []
    with petition.hero_image.open("rb") as original_file, Image.open(original_file) as opened:
        upright = ImageOps.exif_transpose(opened).convert("RGB")
        for width in Petition.HERO_WIDTHS:
            copy = upright.copy()
            if copy.width > width:
                copy = copy.resize((width, round(copy.height * width / copy.width)), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            copy.save(buffer, format="JPEG", quality=82, optimize=True, progressive=True)
            name = petition.hero_variant_name(width)
            if storage.exists(name):
                storage.delete(name)
            names.append(storage.save(name, ContentFile(buffer.getvalue())))
    return names


def petitions_close_due() -> int:
    """Close every open petition whose closing date has passed, as staff
    closing it would (closed_at set to its closing date, for anonymisation).
    Idempotent; returns how many it closed. Signing stops at the closing date
    whether or not this has run yet (Petition.accepts_signatures)."""
    closed = 0
    with transaction.atomic():
        due = Petition.objects.select_for_update().filter(is_open=True, closes_at__lte=timezone.now())
        for petition in due:
            petition.is_open = False
            petition.closed_at = petition.closes_at
            petition.save(update_fields=["is_open", "closed_at"])
            closed += 1
    return closed


def petition_seed_load() -> tuple[Petition, bool]:
    """Create the campaign's petition, its recipients, the consent wordings and
    the default rate limits.

    Idempotent and conservative: what already exists is left exactly as staff
    may have edited it. Returns the petition and whether it was created.
    """
    with transaction.atomic():
        if not RateLimit.objects.exists():
            RateLimit.objects.bulk_create(RateLimit(**limit) for limit in DEFAULT_LIMITS)
        wordings = {settings.LANGUAGE_CODE: libya.CONSENTS} | {
            language: translation["consents"] for language, translation in libya_translations.TRANSLATIONS.items()
        }
        for language, consents in wordings.items():
            for kind, text in consents.items():
                if not ConsentWording.objects.filter(kind=kind, language=language).exists():
                    ConsentWording.objects.create(kind=kind, language=language, version=1, text=text)
        petition, created = Petition.objects.get_or_create(
            slug=libya.SLUG, defaults=libya.PETITION | {"letter_release_minutes": settings.LETTER_RELEASE_MINUTES}
        )
        if created:
            Demand.objects.bulk_create(
                Demand(petition=petition, position=index, text=text) for index, text in enumerate(libya.DEMANDS)
            )
            BackgroundFact.objects.bulk_create(
                BackgroundFact(petition=petition, position=index, **fact)
                for index, fact in enumerate(libya.BACKGROUND)
            )
            for details in libya.TARGETS:
                target = Target.objects.filter(name=details["name"]).first() or Target.objects.create(**details)
                petition.targets.add(target)
        if petition.slug == libya.SLUG:
            _translations_load(petition)
    return petition, created


def _translations_load(petition: Petition) -> None:
    """The campaign's translations of the seed petition, in each language that has none yet."""
    demands = list(petition.demands.order_by("position", "id"))
    facts = list(petition.background_facts.order_by("position", "id"))
    for language, translated in libya_translations.TRANSLATIONS.items():
        if PetitionTranslation.objects.filter(petition=petition, language=language).exists():
            continue
        translation = PetitionTranslation.objects.create(
            petition=petition, language=language, credit=translated["credit"], **translated["petition"]
        )
        # Staff may have added or removed demands and facts: only those the
        # seed wrote are matched, by position, and only while the counts agree.
        if len(demands) == len(translated["demands"]):
            DemandTranslation.objects.bulk_create(
                DemandTranslation(translation=translation, demand=demand, text=text)
                for demand, text in zip(demands, translated["demands"], strict=True)
            )
        if len(facts) == len(translated["background"]):
            BackgroundFactTranslation.objects.bulk_create(
                BackgroundFactTranslation(translation=translation, fact=fact, **fact_translated)
                for fact, fact_translated in zip(facts, translated["background"], strict=True)
            )
