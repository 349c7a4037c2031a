from pathlib import Path

import pytest
from django.urls import reverse

from petitions import emails
from petitions.content import libya
from petitions.models import Target

pytestmark = pytest.mark.django_db

SEED = Path(__file__).parent / "data" / "seed_004_amnesty_petition.txt"
SHARED_SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "004_fe512d129cfef6aa.txt"


def _squash(text):
    return " ".join(text.split())


class ContentTests:
    def test_the_stored_seed_is_the_shared_one(self):
        # CI and developers have ../shared beside the checkout; the copy in
        # tests/data must not drift from it.
        assert SHARED_SEED.read_bytes() == SEED.read_bytes()

    def test_every_piece_of_the_petition_is_the_seeds_own_words(self):
        seed = _squash(SEED.read_text())
        pieces = [
            libya.PETITION[key]
            for key in ("title", "headline", "summary", "call_to_action", "letter_greeting",
                        "letter_demands_intro", "letter_closing")
        ]
        pieces += libya.PETITION["body"].split("\n\n") + libya.PETITION["letter_body"].split("\n\n")
        pieces += libya.DEMANDS + libya.PETITION["further_reading"].splitlines()
        for piece in pieces:
            assert _squash(piece) in seed, piece

    def test_the_letter_as_sent_is_the_seeds_letter_signed_by_the_signer(self, petition):
        seed = SEED.read_text()
        seed_letter = seed[seed.index("Dear Prime Minister"):]
        text = emails.letter_text(petition, signer_name="Amira Haddad", signer_country="Tunisia")
        assert _squash(text) == _squash(seed_letter + "\nAmira Haddad\nTunisia")

    def test_the_page_shows_the_facts_the_letter_the_demands_and_the_background_with_sources(self, client, petition):
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        for fact in ("20,000 migrants", "Ras Jadir", "6 November 2017"):
            assert fact in page
        assert "Dear Prime Minister of Libya Fayez Al-Sarraj" in page
        assert page.count("Formally recognize the UNHCR") == 2  # the demands, and the letter
        for figure in ("2 July 2019", "3,300", "1,073", "77 of them children", "IOM and UNHCR"):
            assert figure in page
        for source in ("InfoMigrants", "International Organization for Migration (IOM)", "Al Jazeera",
                       "UN Security Council statement of 5 July 2019", "Joint statement of IOM and UNHCR"):
            assert source in page

    def test_the_named_recipients_start_on_a_reserved_example_domain(self, petition):
        targets = {t.name: t for t in petition.targets.all()}
        assert set(targets) == {"Fayez Al-Sarraj", "Jean-Claude Juncker"}
        assert targets["Fayez Al-Sarraj"].title == "Prime Minister of Libya"
        assert targets["Jean-Claude Juncker"].title == "President of the European Commission"
        assert all(t.email.endswith(".example") for t in targets.values())

    def test_loading_again_changes_nothing_staff_edited(self, petition):
        from petitions.services.content import petition_seed_load

        petition.goal = 123
        petition.save()
        Target.objects.filter(name="Fayez Al-Sarraj").update(email="real@gov.example")
        again, created = petition_seed_load()
        assert not created and again.pk == petition.pk
        again.refresh_from_db()
        assert again.goal == 123
        assert Target.objects.get(name="Fayez Al-Sarraj").email == "real@gov.example"
        assert again.demands.count() == 4 and Target.objects.count() == 2
