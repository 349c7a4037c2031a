"""Names sign letters and stand in their From line: the form refuses what could
turn into another header, an address or invisible text, with a message the
person understands; whatever a stored name holds, no email's headers carry it."""

import email
import email.policy
import unicodedata

import pytest
from django.conf import settings
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from petitions import emails
from petitions.forms import SignatureForm
from petitions.models import ConsentWording, Letter, Signature, Target
from petitions.services.signing import consent_wordings_current
from tests.conftest import sign

pytestmark = pytest.mark.django_db

ATTACKS = {
    "encoded bidi override": ("=?UTF-8?B?4oCuZ25hbWU=?=", "as you would on paper"),
    "encoded line break and Bcc": ("=?utf-8?q?Jo=0D=0ABcc:_x@example.org?=", "as you would on paper"),
    "an address as a name": ("<president@example.org>", "not an email address"),
    "an address without brackets": ("president@example.org", "not an email address"),
    "zero-width space": ("Ami\u200bra", "invisible characters"),
    "byte order mark": ("\ufeffAmira", "invisible characters"),
    "left-to-right mark": ("Amira\u200e", "invisible characters"),
    "stacked marks": ("Z" + "\u0336\u0337\u0338\u0335\u0334\u0321", "accent marks"),
}
GENUINE = [
    "Nguyễn Văn An",
    unicodedata.normalize("NFD", "Nguyễn Văn An"),  # two marks on one letter, decomposed
    "مُحَمَّد",  # shadda and a vowel mark on one letter
    "نیک\u200cنام",  # Persian, with the zero-width non-joiner it needs
    "O'Brien",
    "Jean-Luc",
]


def _data(signer, **name):
    form = SignatureForm(consents=consent_wordings_current())
    return signer | {"consent_key": form.fields["consent_key"].initial} | name


class NameFormTests:
    @pytest.mark.parametrize("attack", sorted(ATTACKS))
    def test_it_refuses_a_name_that_could_be_more_than_a_name(self, client, petition, signer, attack):
        name, message = ATTACKS[attack]
        response = sign(client, petition, _data(signer, first_name=name))
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Signature.objects.exists()

    @pytest.mark.parametrize("name", GENUINE)
    def test_it_takes_names_in_every_script(self, client, petition, signer, name):
        assert sign(client, petition, _data(signer, first_name=name)).status_code == 302
        assert Signature.objects.get().first_name == name

    def test_a_comment_keeps_its_words_and_loses_invisible_characters(self, client, petition, signer):
        sign(client, petition, _data(signer, comment="Free\u200b them\ufeff now"))
        assert Signature.objects.get().comment == "Free them now"


def _headers(message):
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
    return parsed, {name.lower(): str(value) for name, value in parsed.items()}


_hostile_names = st.one_of(
    st.text(min_size=1, max_size=60),
    st.sampled_from([name for name, _message in ATTACKS.values()]),
    st.builds(
        lambda a, b: f"{a}=?utf-8?b?{b}?=",
        st.text(max_size=10),
        st.sampled_from(["4oCu", "DQpCY2M6IHhAZXhhbXBsZS5vcmc=", "PHByZXNpZGVudEBleGFtcGxlLm9yZz4="]),
    ),
)


# Headers that differ between two messages whatever the name: dates, ids, MIME
# boundaries, and the dated token in the unsubscribe link.
VARYING = ("date", "message-id", "content-type", "list-unsubscribe")


class NameHeaderFuzzTests:
    @hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(name=_hostile_names)
    def test_no_name_reaches_a_letter_header_as_anything_but_a_plain_name(self, petition, name):
        target = Target.objects.first()
        letter = Letter(
            target=target, subject=petition.letter_subject, body="Letter text", from_name=name,
            reply_to=settings.CAMPAIGN_REPLY_TO, created_at=timezone.now(),
        )
        parsed, headers = _headers(emails.letter_email(letter))
        assert "bcc" not in headers and "cc" not in headers
        sender = parsed["From"].addresses
        assert len(sender) == 1 and sender[0].addr_spec == settings.LETTER_FROM_EMAIL
        shown = sender[0].display_name
        assert not any(unicodedata.category(char) in ("Cc", "Cf") and char not in "\u200c\u200d" for char in shown)
        assert "@" not in shown and "<" not in shown and "=?" not in shown

    @hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(name=_hostile_names)
    def test_no_name_reaches_the_headers_of_a_supporter_email(self, petition, name):
        consents = consent_wordings_current()
        signature = Signature(
            petition=petition, first_name=name, last_name=name, email="amira@example.org",
            email_normalized="amira@example.org", country="TN", letter_consent=consents[ConsentWording.Kind.LETTER],
        )
        issued_at = timezone.now()

        def headers_of(first_name):
            signature.first_name = signature.last_name = first_name
            builds = (emails.confirmation_email, emails.thanks_email)
            messages = [build(signature, issued_at=issued_at) for build in builds]
            messages.append(emails.reminder_email(signature, issued_at=issued_at, number=1))
            return [
                {key: value for key, value in _headers(message)[1].items() if key not in VARYING}
                for message in messages
            ]

        # The headers are exactly those of a signer with a plain name.
        assert headers_of(name) == headers_of("Amira")
