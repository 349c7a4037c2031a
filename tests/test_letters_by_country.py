"""Recipients tied to countries: signers in France also write to the French
interior minister, while everyone writes to the petition's main recipients.
The form shows who the letter goes to for the chosen country (with a script),
and the confirm page names them (for those without one)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from petitions.models import Letter, Signature, Target
from petitions.services import letters, signing
from petitions.services.content import petition_seed_load
from petitions.tokens import confirmation_token_make
from tests.conftest import sign
from tests.support.processes import WebServer

FRENCH_MINISTER = {
    "name": "Laurent Nuñez", "title": "Minister of the Interior", "email": "ministre@interieur.example.fr",
    "countries": ["FR"],
}


def _french_signer(signer):
    return dict(signer, first_name="Camille", last_name="Martin", email="camille.martin@example.org", country="FR")


def _tie_french_minister(petition):
    minister = Target.objects.create(**FRENCH_MINISTER)
    petition.targets.add(minister)
    return minister


@pytest.mark.django_db
class LettersByCountryTests:
    def test_a_french_signers_letters_go_to_the_french_recipient_too(self, client, fake_esp, petition, signer):
        petition.letter_release_minutes = 0
        petition.save()
        minister = _tie_french_minister(petition)
        main = set(petition.targets.exclude(pk=minister.pk).values_list("email", flat=True))
        for person in (_french_signer(signer), signer):
            sign(client, petition, person)
            signing.signature_confirm(public_id=Signature.objects.get(email=person["email"]).public_id)
        letters.letters_send(letter_ids=list(Letter.objects.values_list("pk", flat=True)))

        def inbox(address):
            return [message["text"] for message in fake_esp.messages_to(address)]

        [to_minister] = inbox(minister.email)
        assert to_minister.rstrip().endswith("Camille Martin\nFrance")
        for address in main:
            texts = inbox(address)
            assert len(texts) == 2
            assert {text.rstrip().rsplit("\n", 1)[-1] for text in texts} == {"France", "Tunisia"}

    def test_the_confirm_page_names_the_recipients_for_the_signers_country(self, client, petition, signer):
        minister = _tie_french_minister(petition)
        sign(client, petition, _french_signer(signer))
        sign(client, petition, signer)
        pages = {}
        for signature in Signature.objects.all():
            token = confirmation_token_make(signature, timezone.now())
            pages[str(signature.country)] = client.get(reverse("petitions:confirm", args=[token])).content.decode()
        assert "Your letter goes to:" in pages["FR"] and minister.name in pages["FR"]
        assert "Your letter goes to:" in pages["TN"] and minister.name not in pages["TN"]

    def test_the_petition_page_says_which_countries_a_recipient_is_for(self, client, petition):
        _tie_french_minister(petition)
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        assert 'data-countries="FR"' in page and "(for signers in France)" in page


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class LettersByCountryBrowserTests:
    def test_the_form_shows_the_french_recipient_once_france_is_chosen(self, browser):
        petition, _ = petition_seed_load()
        minister = _tie_french_minister(petition)
        with WebServer() as site:
            page = browser.new_page()
            page.goto(site.url + reverse("petitions:detail", args=[petition.slug]))
            page.click("#letter summary")
            recipients = page.locator("[data-recipients]")
            french = recipients.locator("[data-countries]")
            assert not french.is_visible()
            page.select_option("#id_country", "FR")
            assert french.is_visible() and minister.name in recipients.inner_text()
            page.select_option("#id_country", "BE")
            assert not french.is_visible()
            main = petition.targets.exclude(pk=minister.pk).order_by("pk").first()
            assert main.name in recipients.inner_text()
            page.close()
