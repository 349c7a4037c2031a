import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from petitions.models import ConsentWording, Outbox, Signature
from petitions.services import moderation, signing, supporter_mail
from tests.conftest import sign

pytestmark = pytest.mark.django_db


class SigningTests:
    def test_it_shows_the_petition_with_an_empty_form(self, client, petition):
        response = client.get(reverse("petitions:detail", args=[petition.slug]))
        assert response.status_code == 200
        page = response.content.decode()
        assert "Demand Libya stop the detention and sale of migrants" in page
        assert 'name="first_name"' in page and 'name="letter_consent"' in page
        # Every consent box starts unticked.
        assert "checked" not in page

    def test_it_records_a_pending_signature_and_asks_for_its_confirmation_email(self, client, petition, signer):
        response = sign(client, petition, signer)
        assert response.status_code == 302
        assert response["Location"] == reverse("petitions:signed", args=[petition.slug])
        signature = Signature.objects.get()
        assert signature.state == Signature.State.PENDING
        assert (signature.first_name, signature.last_name, signature.country.code) == ("Amira", "Haddad", "TN")
        assert signature.email_normalized == "amira.haddad@example.org"
        assert list(Outbox.objects.values_list("kind", "signature")) == [
            (Outbox.Kind.CONFIRMATION_EMAIL, signature.pk)
        ]

    def test_it_stores_the_consent_wording_versions_with_the_signature(self, client, petition, signer):
        sign(client, petition, signer | {"reply_consent": "on"})
        signature = Signature.objects.get()
        assert signature.letter_consent == ConsentWording.objects.get(kind="letter", language="en", version=1)
        assert signature.reply_consent == ConsentWording.objects.get(kind="reply", language="en", version=1)
        assert signature.updates_consent is None
        assert signature.created_at is not None

    def test_it_uses_the_newest_consent_wording(self, client, petition, signer):
        newer = ConsentWording.objects.create(
            kind="letter", version=2, text="Send my letter, signed with my name and country (v2)."
        )
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        assert "(v2)" in page
        sign(client, petition, signer)
        assert Signature.objects.get().letter_consent == newer

    def test_a_signer_who_read_an_older_wording_is_asked_again_and_loses_nothing_else(self, client, petition, signer):
        url = reverse("petitions:detail", args=[petition.slug])
        shown = re.search(r'name="consent_key" value="([^"]+)"', client.get(url).content.decode()).group(1)
        ConsentWording.objects.create(
            kind="letter", version=2, text="Send my letter, signed with my name and country (v2)."
        )
        response = sign(client, petition, signer | {"consent_key": shown, "updates_consent": "on"})
        assert response.status_code == 409
        assert not Signature.objects.exists()
        page = response.content.decode()
        assert "was changed while the page was open" in page and "(v2)" in page
        assert 'value="Amira"' in page and 'value="amira.haddad@example.org"' in page
        assert "checked" not in page  # every box asks again under its current words
        current = re.search(r'name="consent_key" value="([^"]+)"', page).group(1)
        assert current != shown
        assert sign(client, petition, signer | {"consent_key": current}).status_code == 302
        assert Signature.objects.get().letter_consent.version == 2

    @pytest.mark.parametrize(
        "first_name,last_name",
        [("Zoë", "Ó Súilleabháin"), ("D'Arcy", "O'Neill-Smith"), ("محمد", "الأمين"), ("Αλέξανδρος", "Παπαδόπουλος"),
         ("明", "王"), ("नेहा", "शर्मा"), ("می‌خواهم", "زاده")],
    )
    def test_it_accepts_names_in_any_script(self, client, petition, signer, first_name, last_name):
        response = sign(client, petition, signer | {"first_name": first_name, "last_name": last_name})
        assert response.status_code == 302
        signature = Signature.objects.get()
        assert (signature.first_name, signature.last_name) == (first_name, last_name)

    @pytest.mark.parametrize(
        "field,value,message",
        [
            ("first_name", "", "Please enter your first name."),
            ("last_name", "", "Please enter your last name."),
            ("email", "", "Please enter your email address."),
            ("email", "not-an-address", "Please enter a valid email address"),
            ("country", "", "Please choose your country."),
            ("country", "XX", "Please choose your country from the list."),
            ("first_name", "Amira\nBcc: victim@example.org", "line breaks and control characters"),
            ("last_name", "Had\rdad", "line breaks and control characters"),
            ("first_name", "Ami\x00ra", "line breaks and control characters"),
            ("first_name", "Ami\u202era", "line breaks and control characters"),
            ("first_name", "A" * 101, "at most 100 characters (it has 101)"),
            ("email", "a" * 250 + "@example.org", "at most 254 characters"),
            ("postcode", "<script>", "only letters, digits, spaces and hyphens"),
            ("postcode", "1" * 17, "at most 16 characters"),
            ("first_name", "1234", "at least one letter"),
        ],
    )
    def test_it_shows_the_form_again_filled_in_with_the_field_named(
        self, client, petition, signer, field, value, message
    ):
        data = signer | {"postcode": "TN-1000", field: value}
        response = sign(client, petition, data)
        assert response.status_code == 400
        page = response.content.decode()
        assert message in page
        form = response.context["form"]
        assert list(form.errors) == [field]
        # What the signer typed in the other fields is still there.
        for other in ("first_name", "last_name", "email", "postcode"):
            if other != field:
                assert f'value="{data[other]}"' in page
        assert f'<a href="#id_{field}">' in page
        assert not Signature.objects.exists()

    def test_it_requires_the_letter_consent(self, client, petition, signer):
        data = dict(signer)
        del data["letter_consent"]
        response = sign(client, petition, data)
        assert response.status_code == 400
        assert "Please tick this box" in response.content.decode()
        assert 'value="amira.haddad@example.org"' in response.content.decode()
        assert not Signature.objects.exists()

    def test_it_escapes_what_a_signer_typed_when_showing_the_form_again(self, client, petition, signer):
        response = sign(client, petition, signer | {"first_name": '<script>alert("x")</script>', "email": "bad"})
        page = response.content.decode()
        assert '<script>alert("x")</script>' not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page

    def test_it_answers_over_long_posts_with_a_clear_page_not_a_server_error(self, client, petition, signer):
        response = sign(client, petition, signer | {"first_name": "A" * 3_000_000})
        assert response.status_code == 400
        assert "Something was wrong with that request" in response.content.decode()
        assert not Signature.objects.exists()

    def test_it_keeps_nothing_from_a_bot_that_fills_the_honeypot(self, client, petition, signer):
        response = sign(client, petition, signer | {"website": "http://spam.example"})
        assert response.status_code == 302
        assert response["Location"] == reverse("petitions:signed", args=[petition.slug])
        assert not Signature.objects.exists()
        assert not Outbox.objects.exists()

    def test_it_takes_no_signature_on_a_closed_petition(self, client, petition, signer):
        petition.is_open = False
        petition.save()
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        assert "This petition has closed" in page and 'name="first_name"' not in page
        response = sign(client, petition, signer)
        assert response.status_code == 409
        assert not Signature.objects.exists()


class RepeatSignerTests:
    def test_a_repeat_signature_makes_the_same_statements_as_a_first_one(self, client, petition, signer):
        """Nothing in the request's work tells whether the address had signed."""

        def statements_of_signing(data):
            with CaptureQueriesContext(connection) as queries:
                assert sign(client, petition, data).status_code == 302
            shapes = [re.sub(r"'[^']*'|\b\d+\b", "?", query["sql"]) for query in queries]
            return [shape for shape in shapes if "INSERT" in shape or "UPDATE" in shape or "SELECT" in shape]

        statements_of_signing(signer | {"email": "warm.caches@example.org"})  # the caches a process keeps
        first = statements_of_signing(signer)
        again = statements_of_signing(signer)
        assert len(first) == len(again)
        assert [shape.split(" ")[:3] for shape in first] == [shape.split(" ")[:3] for shape in again]

    def test_it_shows_a_repeat_signer_the_same_page_as_a_first_signer(self, client, petition, signer, repeat_signer):
        first = sign(client, petition, signer)
        repeat = sign(client, petition, repeat_signer)
        assert (repeat.status_code, repeat["Location"]) == (first.status_code, first["Location"])
        assert Signature.objects.count() == 1
        assert Signature.objects.get().last_name == "Haddad"  # the repeat changed nothing

    def test_it_emails_a_repeat_signer_at_most_a_few_times(self, client, petition, signer, repeat_signer, settings):
        sign(client, petition, signer)
        for _ in range(settings.REPEAT_NOTICE_LIMIT + 3):
            assert sign(client, petition, repeat_signer).status_code == 302
        supporter_mail.outbox_drain()  # resolves the repeats, off the request path
        kinds = list(Outbox.objects.filter(state=Outbox.State.DONE).order_by("pk").values_list("kind", flat=True))
        expected = [Outbox.Kind.CONFIRMATION_EMAIL] + [Outbox.Kind.ALREADY_SIGNED_EMAIL] * settings.REPEAT_NOTICE_LIMIT
        assert kinds == expected

    def test_it_emails_nothing_to_an_invalidated_signer_who_signs_again(self, client, petition, signer):
        sign(client, petition, signer)
        moderation.signatures_invalidate(signature_ids=[Signature.objects.get().pk], actor=None, reason="test")
        assert sign(client, petition, signer).status_code == 302
        supporter_mail.outbox_drain()
        assert Outbox.objects.exclude(state=Outbox.State.SKIPPED).count() == 1

    def test_the_database_allows_one_signature_per_normalised_email(self, petition):
        consent = ConsentWording.objects.get(kind="letter", language="en")
        fields = dict(petition=petition, first_name="A", last_name="B", country="FR", letter_consent=consent)
        Signature.objects.create(email="x@example.org", email_normalized="x@example.org", **fields)
        with pytest.raises(IntegrityError), transaction.atomic():
            Signature.objects.create(email="X@example.org", email_normalized="x@example.org", **fields)
        # The normalised column cannot hold a differently-cased copy either.
        with pytest.raises(IntegrityError), transaction.atomic():
            Signature.objects.create(email="X@example.org", email_normalized="X@example.org", **fields)


class SignatureFormTests:
    def test_each_form_keeps_its_own_consent_wordings(self, petition):
        from petitions.forms import SignatureForm

        current = signing.consent_wordings_current()
        newer = current | {"letter": ConsentWording(pk=99, kind="letter", version=2, text="Newer words.")}
        first, second = SignatureForm(consents=current), SignatureForm(consents=newer)
        assert first.fields["letter_consent"].label == current["letter"].text
        assert second.fields["letter_consent"].label == "Newer words."
        assert first.fields["consent_key"].initial != second.fields["consent_key"].initial
        assert SignatureForm(consents=current).fields["letter_consent"].label == current["letter"].text

    def test_forms_sharing_their_fields_act_as_forms_with_copies_would(self, petition, signer):
        """SignatureForm skips Django's deep copy of its fields for speed
        (forms._SharedFields); a form of the same fields deep-copied, as Django
        does by default, must give the same result for every input, in any order."""
        import copy

        from petitions.forms import SignatureForm

        class CopiedFieldsForm(SignatureForm):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.fields = copy.deepcopy(dict(self.fields))

        # The same (shared) fields as SignatureForm, then copied per form above, as Django would.
        CopiedFieldsForm.base_fields = SignatureForm.base_fields

        consents = signing.consent_wordings_current()
        key = SignatureForm(consents=consents).fields["consent_key"].initial
        inputs = [
            signer | {"consent_key": key},
            signer | {"consent_key": key, "email": "not an address", "first_name": ""},
            signer | {"consent_key": key, "postcode": "<b>", "country": "XX", "letter_consent": ""},
            signer | {"consent_key": key, "comment": "  Free  them.\r\nNow  "},
            {},
        ]
        for data in inputs + inputs[::-1]:
            shared, copied = SignatureForm(data, consents=consents), CopiedFieldsForm(data, consents=consents)
            assert shared.is_valid() == copied.is_valid()
            assert shared.errors == copied.errors and shared.cleaned_data == copied.cleaned_data
            assert str(shared) == str(copied)
        assert str(SignatureForm(consents=consents)) == str(CopiedFieldsForm(consents=consents))


class HotRowTests:
    def test_signing_and_confirming_never_write_the_petition_row(self, client, petition, signer):
        with CaptureQueriesContext(connection) as queries:
            sign(client, petition, signer)
            signing.signature_confirm(public_id=Signature.objects.get().public_id)
        writes = [
            match.group(1) for q in queries
            for match in re.finditer(r'(?:INSERT INTO|UPDATE|DELETE FROM)\s+"?(\w+)"?', q["sql"], re.IGNORECASE)
        ]
        assert "petitions_signature" in writes and "petitions_outbox" in writes
        assert "petitions_petition" not in writes
