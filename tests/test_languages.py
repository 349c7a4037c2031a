"""Every supporter in their own language: English, French and Arabic.

Pages by address (/fr/p/<slug>/), redirects by Accept-Language, the petition's
own words per language with a fallback that says so, consent wordings per
language, the signer's language followed by every email, letters in each
recipient's language, and updates per language.
"""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from petitions.content import libya, libya_translations
from petitions.models import (
    ConsentWording,
    Letter,
    Mailing,
    MailingRecipient,
    MailingTranslation,
    PetitionTranslation,
    Signature,
    Target,
)
from petitions.services import mailings, signing
from tests.conftest import sign
from tests.test_mailings import run_senders
from tests.test_supporter_email import deliver_outbox

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "fr", "ar"]
DIRECTION = {"en": "ltr", "fr": "ltr", "ar": "rtl"}


def in_language(language, text):
    with translation.override(language):
        return gettext(text)


def detail_path(petition, language):
    with translation.override(language):
        return reverse("petitions:detail", args=[petition.slug])


def sign_in(client, petition, language, data):
    with translation.override(language):
        return sign(client, petition, data)


class AddressTests:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_it_serves_each_language_at_its_own_address(self, client, petition, language):
        response = client.get(detail_path(petition, language))
        assert response.status_code == 200
        html = response.content.decode()
        assert detail_path(petition, language) == f"/{language}/p/{petition.slug}/"
        assert f'<html lang="{language}" dir="{DIRECTION[language]}">' in html
        for other in LANGUAGES:
            assert f'hreflang="{other}" href="{settings.SITE_URL}/{other}/p/{petition.slug}/"' in html
        assert 'hreflang="x-default"' in html
        # The switcher is plain links: it works without JavaScript.
        for other in LANGUAGES:
            assert f'<a href="/{other}/p/{petition.slug}/" lang="{other}" hreflang="{other}"' in html
        assert 'aria-current="page">' in html

    @pytest.mark.parametrize(
        ("accept", "language"), [("fr-FR,fr;q=0.9,en;q=0.5", "fr"), ("ar-LY,ar;q=0.9", "ar"), ("de", "en")]
    )
    def test_it_redirects_an_address_without_a_language_by_accept_language(self, petition, accept, language):
        client = Client(headers={"Accept-Language": accept})
        response = client.get(f"/p/{petition.slug}/")
        assert response.status_code == 302
        assert response["Location"] == f"/{language}/p/{petition.slug}/"
        assert "Accept-Language" in response["Vary"]
        home = client.get("/")
        assert home["Location"] == f"/{language}/"
        # The list of open petitions, in that language, links each to its own address.
        listing = client.get(home["Location"]).content.decode()
        assert f'href="/{language}/p/{petition.slug}/"' in listing
        assert f'<html lang="{language}"' in listing

    def test_it_keeps_a_page_per_language_in_the_whole_page_cache(self, client, petition):
        pages = {language: client.get(detail_path(petition, language)).content for language in LANGUAGES}
        again = {language: client.get(detail_path(petition, language)).content for language in LANGUAGES}
        assert pages == again
        assert len(set(pages.values())) == 3
        assert libya_translations.TRANSLATIONS["fr"]["petition"]["title"] in pages["fr"].decode()
        assert libya_translations.TRANSLATIONS["ar"]["petition"]["title"] in pages["ar"].decode()

    def test_it_serves_the_seed_english_word_for_word(self, client, petition):
        html = client.get(detail_path(petition, "en")).content.decode()
        assert f"<h1>{libya.PETITION['title']}</h1>" in html
        assert "Translated" not in html and "shown in its original language" not in html


class PageTranslationTests:
    @pytest.mark.parametrize("language", ["fr", "ar"])
    def test_it_translates_the_page_and_the_form(self, client, petition, language):
        html = client.get(detail_path(petition, language)).content.decode()
        for english in ("Sign the petition", "What we demand", "Background", "First name", "Country"):
            translated = in_language(language, english)
            assert translated != english
            assert translated in html
        assert in_language(language, "Choose your country") in html
        texts = libya_translations.TRANSLATIONS[language]
        assert texts["demands"][0] in html
        assert texts["background"][0]["text"].split(".")[0] in html
        assert texts["consents"]["letter"] in html
        assert texts["credit"] in html

    def test_it_names_and_sorts_countries_in_the_page_language(self, client, petition):
        def countries(language):
            html = client.get(detail_path(petition, language)).content.decode()
            return re.findall(r'<option value="([A-Z]{2})"[^>]*>([^<]+)</option>', html)

        french = dict(countries("fr"))
        assert french["DE"] == "Allemagne" and french["TN"] == "Tunisie"
        order = [code for code, _name in countries("fr")]
        assert order.index("DE") < order.index("BE") < order.index("ES")  # Allemagne, Belgique, Espagne
        assert dict(countries("ar"))["TN"] == "تونس"

    def test_it_falls_back_to_the_original_and_says_so(self, client, petition):
        PetitionTranslation.objects.filter(petition=petition, language="ar").delete()
        html = client.get(detail_path(petition, "ar")).content.decode()
        assert f"<h1>{petition.title}</h1>" in html
        notice = (
            "This petition has not been translated into your language yet, so it is shown in its original language."
        )
        assert in_language("ar", notice) in html
        assert '<div lang="en" dir="auto">' in html
        # The page itself is still Arabic.
        assert in_language("ar", "Sign the petition") in html

    @pytest.mark.parametrize("language", ["fr", "ar"])
    def test_it_shows_errors_in_the_page_language(self, client, petition, signer, language):
        response = sign_in(client, petition, language, signer | {"email": "", "letter_consent": ""})
        assert response.status_code == 400
        html = response.content.decode()
        assert in_language(language, "Please enter your email address.") in html
        assert in_language(language, "There is a problem") in html
        assert in_language(language, "Please enter your email address.") != "Please enter your email address."
        assert f'<html lang="{language}"' in html

    def test_it_formats_the_count_for_the_locale(self, client, petition):
        from django.core.cache import caches as django_caches

        from petitions import caches

        Signature.objects.all().delete()
        django_caches["default"].clear()
        caches.forget_all()
        from tests.test_mailings import supporters_create

        supporters_create(petition, 1234)
        from petitions.selectors import counts

        counts.counts_reconcile()
        caches.forget_all()
        english = client.get(detail_path(petition, "en")).content.decode()
        french = client.get(detail_path(petition, "fr")).content.decode()
        arabic = client.get(detail_path(petition, "ar")).content.decode()
        assert "data-count>1,234<" in english
        assert "data-count>1\xa0234<" in french
        assert "data-count>1.234<" in arabic
        assert 'data-number-locale="ar-LY"' in arabic


class SignerLanguageTests:
    @pytest.mark.parametrize("language", ["fr", "ar"])
    def test_it_records_the_language_and_the_wording_shown(self, client, petition, signer, language):
        response = sign_in(client, petition, language, signer | {"reply_consent": "on", "updates_consent": "on"})
        assert response.status_code == 302
        assert response["Location"] == f"/{language}/p/{petition.slug}/signed/"
        signature = Signature.objects.get()
        assert signature.language == language
        for wording in (signature.letter_consent, signature.reply_consent, signature.updates_consent):
            assert wording.language == language
            assert wording.text == libya_translations.TRANSLATIONS[language]["consents"][wording.kind]

    def test_a_new_version_in_one_language_leaves_the_others(self, client, petition, signer):
        ConsentWording.objects.create(kind="letter", language="fr", version=2, text="Envoyez la lettre (v2).")
        sign_in(client, petition, "en", signer)
        sign_in(client, petition, "fr", signer | {"email": "marie@example.org"})
        english, french = Signature.objects.order_by("pk")
        assert (english.letter_consent.language, english.letter_consent.version) == ("en", 1)
        assert (french.letter_consent.language, french.letter_consent.version) == ("fr", 2)

    @pytest.mark.parametrize("language", ["fr", "ar"])
    def test_every_email_reaches_the_signer_in_their_language(self, client, petition, signer, language):
        sign_in(client, petition, language, signer | {"first_name": "Amira"})
        deliver_outbox()
        signature = Signature.objects.get()
        signing.signature_confirm(public_id=signature.public_id)
        deliver_outbox()
        sign_in(client, petition, "en", signer)  # signs again, from the English page
        deliver_outbox()
        confirmation, thanks, already = mail.outbox
        title = libya_translations.TRANSLATIONS[language]["petition"]["title"]
        with translation.override(language):
            assert confirmation.subject == gettext("Please confirm your signature: %(title)s") % {"title": title}
            assert thanks.subject == gettext("Thank you: your letter is on its way")
            assert already.subject == gettext("You have already signed: %(title)s") % {"title": title}
        for message in (confirmation, thanks, already):
            html = message.alternatives[0][0]
            assert f'<html lang="{language}" dir="{DIRECTION[language]}">' in html
            assert "<bdi>Amira</bdi>" in html
            assert f"/{language}/" in message.body
        assert f"/{language}/confirm/" in confirmation.body
        unsubscribe = confirmation.extra_headers["List-Unsubscribe"]
        assert f"/{language}/unsubscribe/" in unsubscribe

    def test_a_latin_name_is_isolated_in_an_arabic_text_email(self, client, petition, signer):
        sign_in(client, petition, "ar", signer | {"first_name": "Amira"})
        deliver_outbox()
        assert "\u2068Amira\u2069" in mail.outbox[0].body


class LetterLanguageTests:
    def test_each_recipient_gets_the_letter_in_their_language(self, client, petition, signer):
        prime_minister, president = petition.targets.order_by("pk")
        Target.objects.filter(pk=prime_minister.pk).update(letter_language="ar")
        Target.objects.filter(pk=president.pk).update(letter_language="fr")
        sign_in(client, petition, "en", signer | {"first_name": "Amira", "last_name": "Haddad", "country": "TN"})
        signing.signature_confirm(public_id=Signature.objects.get().public_id)
        arabic = Letter.objects.get(target=prime_minister)
        french = Letter.objects.get(target=president)
        assert (arabic.language, french.language) == ("ar", "fr")
        assert arabic.subject == libya_translations.TRANSLATIONS["ar"]["petition"]["letter_subject"]
        assert french.body.startswith(libya_translations.TRANSLATIONS["fr"]["petition"]["letter_greeting"])
        assert french.body.rstrip().endswith("Amira Haddad\nTunisie")
        # A Latin name in an Arabic letter is isolated; the country is named in Arabic.
        assert arabic.body.rstrip().endswith("\u2068Amira Haddad\u2069\nتونس")

    def test_by_default_the_letter_is_in_the_petitions_own_words(self, client, petition, signer):
        sign_in(client, petition, "ar", signer | {"first_name": "أميرة", "last_name": "حداد", "country": "LY"})
        signing.signature_confirm(public_id=Signature.objects.get().public_id)
        letter = Letter.objects.first()
        assert letter.language == "en"
        assert letter.subject == libya.PETITION["letter_subject"]
        # An Arabic name in an English letter is isolated so it cannot reorder the line.
        assert letter.body.rstrip().endswith("\u2068أميرة حداد\u2069\nLibya")


class MailingLanguageTests:
    def test_each_supporter_gets_the_update_in_their_language_or_the_original(self, client, petition, signer):
        for language, email in (("en", "en@example.org"), ("fr", "fr@example.org"), ("ar", "ar@example.org")):
            sign_in(client, petition, language, signer | {"email": email, "updates_consent": "on"})
        for signature in Signature.objects.all():
            signing.signature_confirm(public_id=signature.public_id)
        mailing = Mailing.objects.create(petition=petition, subject="News", body="The centre is **closed**.")
        MailingTranslation.objects.create(
            mailing=mailing, language="fr", subject="Nouvelles", body="Le centre est **fermé**."
        )
        mail.outbox.clear()
        mailings.mailing_start(mailing_id=mailing.pk)
        run_senders(mailing, times=3)
        by_address = {message.to[0]: message for message in mail.outbox}
        assert by_address["fr@example.org"].subject == "Nouvelles"
        assert "<strong>fermé</strong>" in by_address["fr@example.org"].alternatives[0][0]
        assert by_address["en@example.org"].subject == "News"
        # No Arabic version: the original, inside an Arabic email.
        assert by_address["ar@example.org"].subject == "News"
        assert '<html lang="ar" dir="rtl">' in by_address["ar@example.org"].alternatives[0][0]
        assert set(MailingRecipient.objects.values_list("language", flat=True)) == {"en", "fr", "ar"}

    def test_the_send_page_shows_the_audience_by_language(self, client, petition, signer, campaigner):
        for language, email in (("fr", "a@example.org"), ("fr", "b@example.org"), ("ar", "c@example.org")):
            sign_in(client, petition, language, signer | {"email": email, "updates_consent": "on"})
        for signature in Signature.objects.all():
            signing.signature_confirm(public_id=signature.public_id)
        mailing = Mailing.objects.create(petition=petition, subject="News", body="Text")
        MailingTranslation.objects.create(mailing=mailing, language="fr", subject="Nouvelles", body="Texte")
        client.force_login(campaigner)
        html = client.get(reverse("admin:petitions_mailing_send", args=[mailing.pk])).content.decode()
        start = html.index('id="audience-by-language"')
        table = html[start:html.index("</table>", start)]
        assert re.search(r"<td>Français</td><td>2</td><td>Français</td>", table)
        assert re.search(r"<td>العربية</td><td>1</td><td>English <strong>", table)


class CrossOriginTests:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_a_form_posted_from_another_site_is_refused_in_the_page_language(self, client, petition, signer, language):
        with translation.override(language):
            path = reverse("petitions:sign", args=[petition.slug])
        response = client.post(path, signer, headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
        assert response.status_code == 403
        html = response.content.decode()
        assert f'<html lang="{language}"' in html
        assert in_language(language, "Please try again") in html
        assert not Signature.objects.exists()
