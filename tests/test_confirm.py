import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from petitions.models import Letter, Signature, Target
from petitions.services import moderation
from petitions.tokens import CONFIRM_SALT, confirmation_token_make
from tests.conftest import sign

pytestmark = pytest.mark.django_db


def confirm_path(signature):
    return reverse("petitions:confirm", args=[confirmation_token_make(signature, timezone.now())])


@pytest.fixture
def pending(client, petition, signer):
    sign(client, petition, signer)
    return Signature.objects.get()


class ConfirmTests:
    def test_it_shows_a_button_and_confirms_nothing_on_get(self, client, pending):
        # Mail scanners follow links: a GET must not confirm.
        response = client.get(confirm_path(pending))
        assert response.status_code == 200
        assert "Confirm my signature" in response.content.decode()
        assert 'method="post"' in response.content.decode()
        pending.refresh_from_db()
        assert pending.state == Signature.State.PENDING
        assert not Letter.objects.exists()

    def test_it_confirms_on_post_and_queues_one_letter_per_active_recipient(self, client, petition, pending):
        inactive = Target.objects.create(name="Retired Official", email="retired@example.org", is_active=False)
        petition.targets.add(inactive)
        response = client.post(confirm_path(pending))
        assert response.status_code == 302
        # The page after confirming, with the signed token that offers the own-mail
        # choice, and the signer's referral code for the page's share links.
        assert response["Location"].partition("?")[0] == reverse("petitions:confirmed", args=[petition.slug])
        pending.refresh_from_db()
        assert pending.state == Signature.State.CONFIRMED and pending.confirmed_at is not None
        letters = Letter.objects.order_by("target__name")
        assert [letter.target.name for letter in letters] == ["Fayez Al-Sarraj", "Jean-Claude Juncker"]
        assert {letter.state for letter in letters} == {Letter.State.QUEUED}

    def test_confirming_twice_is_harmless(self, client, pending):
        path = confirm_path(pending)
        assert client.post(path).status_code == 302
        assert client.post(path).status_code == 302
        assert Letter.objects.count() == 2
        assert Signature.objects.get().state == Signature.State.CONFIRMED

    def test_it_refuses_an_expired_link_and_says_how_to_get_a_new_one(self, client, pending, settings):
        issued = timezone.now() - settings.CONFIRMATION_MAX_AGE - timezone.timedelta(minutes=1)
        response = client.post(reverse("petitions:confirm", args=[confirmation_token_make(pending, issued)]))
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
        assert Signature.objects.get().state == Signature.State.PENDING

    @pytest.mark.parametrize("mangle", [lambda t: t[:-2], lambda t: "x" + t, lambda t: t.replace(":", "")])
    def test_it_refuses_a_tampered_link(self, client, pending, mangle):
        token = confirmation_token_make(pending, timezone.now())
        response = client.post(reverse("petitions:confirm", args=[mangle(token)]))
        assert response.status_code == 400
        assert "This link does not work" in response.content.decode()
        assert Signature.objects.get().state == Signature.State.PENDING

    def test_a_token_for_one_signature_cannot_confirm_another(self, client, petition, pending, signer):
        sign(client, petition, signer | {"email": "second@example.org"})
        second = Signature.objects.get(email="second@example.org")
        token = confirmation_token_make(pending, timezone.now())
        value, rest = token.split(":", 1)
        forged = f"{second.public_id.hex}:{rest}"
        assert client.post(reverse("petitions:confirm", args=[forged])).status_code == 400
        # A token signed for another purpose does not work either.
        other_purpose = signing.TimestampSigner(salt=CONFIRM_SALT + ".other").sign(second.public_id.hex)
        assert client.post(reverse("petitions:confirm", args=[other_purpose])).status_code == 400
        assert Signature.objects.get(pk=second.pk).state == Signature.State.PENDING

    def test_an_invalidated_signature_cannot_be_confirmed(self, client, pending):
        moderation.signatures_invalidate(signature_ids=[pending.pk], actor=None, reason="bot")
        assert client.post(confirm_path(pending)).status_code == 400
        assert not Letter.objects.exists()

    def test_a_closed_petition_sends_no_letters_on_confirmation(self, client, petition, pending):
        petition.is_open = False
        petition.save()
        response = client.post(confirm_path(pending))
        assert response.status_code == 409
        assert "This petition has closed" in response.content.decode()
        assert not Letter.objects.exists()

    def test_it_thanks_the_signer_with_share_links(self, client, petition, pending):
        response = client.post(confirm_path(pending), follow=True)
        page = response.content.decode()
        assert "your signature is confirmed" in page
        for network in ("wa.me", "x.com/intent", "facebook.com/sharer", "mailto:"):
            assert network in page
