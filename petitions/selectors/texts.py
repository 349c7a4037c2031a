"""A petition's words in one language: its own translation there, or the
original, saying that it is the original."""

from __future__ import annotations

from dataclasses import dataclass, field

from petitions.models import Petition, PetitionTranslation
from petitions.models.content import further_reading_links, paragraphs


@dataclass(frozen=True)
class Fact:
    text: str
    source_name: str
    source_detail: str
    source_url: str = ""


@dataclass(frozen=True)
class PetitionTexts:
    """What a page or a letter shows of a petition, all in `language`."""

    language: str
    # True when the page asked for another language and no translation exists:
    # the page then says the text is shown in its original language.
    is_fallback: bool
    credit: str
    title: str
    headline: str
    summary: str
    body: str
    call_to_action: str
    further_reading: str
    letter_subject: str
    letter_greeting: str
    letter_body: str
    letter_demands_intro: str
    letter_closing: str
    demands: list[str] = field(default_factory=list)
    background_facts: list[Fact] = field(default_factory=list)

    def body_paragraphs(self) -> list[str]:
        return paragraphs(self.body)

    def letter_paragraphs(self) -> list[str]:
        return paragraphs(self.letter_body)

    def further_reading_lines(self) -> list[str]:
        return [line.strip() for line in self.further_reading.splitlines() if line.strip()]

    def further_reading_links(self) -> list[tuple[str, str]]:
        """(title, address) per line, written "Title | https://..."; address '' when none."""
        return further_reading_links(self.further_reading_lines())


_TEXT_FIELDS = (
    "title", "headline", "summary", "body", "call_to_action", "further_reading", "letter_subject",
    "letter_greeting", "letter_body", "letter_demands_intro", "letter_closing",
)


def petition_texts(petition: Petition, language: str) -> PetitionTexts:
    """The petition's texts in `language`, or in its original language when it
    has no translation there (`is_fallback`). A translated demand or fact
    missing from the translation is shown in the original."""
    if language != petition.language:
        translation = (
            PetitionTranslation.objects.filter(petition=petition, language=language)
            .prefetch_related("demands", "background_facts")
            .first()
        )
        if translation is not None:
            return _translated(petition, translation)
    return PetitionTexts(
        language=petition.language,
        is_fallback=language != petition.language,
        credit="",
        **{name: getattr(petition, name) for name in _TEXT_FIELDS},
        demands=[demand.text for demand in petition.demands.all()],
        background_facts=[
            Fact(fact.text, fact.source_name, fact.source_detail, fact.source_url)
            for fact in petition.background_facts.all()
        ],
    )


def _translated(petition: Petition, translation: PetitionTranslation) -> PetitionTexts:
    demands = {row.demand_id: row.text for row in translation.demands.all()}
    facts = {row.fact_id: row for row in translation.background_facts.all()}
    background = []
    for fact in petition.background_facts.all():
        translated = facts.get(fact.pk)
        if translated is None:
            background.append(Fact(fact.text, fact.source_name, fact.source_detail, fact.source_url))
        else:
            background.append(Fact(translated.text, fact.source_name, translated.source_detail, fact.source_url))
    return PetitionTexts(
        language=translation.language,
        is_fallback=False,
        credit=translation.credit,
        **{name: getattr(translation, name) for name in _TEXT_FIELDS},
        demands=[demands.get(demand.pk, demand.text) for demand in petition.demands.all()],
        background_facts=background,
    )
