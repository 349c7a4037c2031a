"""A wave of bot signatures caught within the petition's release delay never
reaches the recipients; the public count shows signatures at once or after the
delay, as staff choose."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from petitions.models import Letter, Petition, Signature
from petitions.selectors.counts import confirmed_count_from_database
from petitions.services import letters as letter_service
from petitions.services import moderation, signing
from tests.conftest import sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def delayed(petition):
    Petition.objects.filter(pk=petition.pk).update(letter_release_minutes=15)
    petition.refresh_from_db()
    return petition


def signed_and_confirmed(client, petition, signer, count):
    for number in range(count):
        sign(client, petition, signer | {"email": f"wave{number}@example.org"})
    for signature in Signature.objects.filter(state=Signature.State.PENDING):
        signing.signature_confirm(public_id=signature.public_id)
    return list(Signature.objects.order_by("pk"))


def the_delay_passes():
    """What a quarter of an hour does to the queued letters' due times."""
    Letter.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


class ReleaseDelayTests:
    def test_letters_wait_out_the_delay_and_an_invalidated_wave_sends_none(
        self, client, delayed, signer, moderator, fake_esp
    ):
        bots = signed_and_confirmed(client, delayed, signer, 5)
        assert Letter.objects.filter(state=Letter.State.QUEUED).count() == 5 * 2
        assert letter_service.letters_dispatch() == 0  # nothing is due yet
        # A moderator spots the wave within the quarter of an hour.
        moderation.signatures_invalidate(signature_ids=[s.pk for s in bots[:4]], actor=moderator, reason="Bot wave")
        later = timezone.now() + timedelta(minutes=16)
        assert letter_service.letters_dispatch(now=later) == 2  # the one genuine signer's letters only
        the_delay_passes()
        sent = letter_service.letters_send(letter_ids=list(Letter.objects.values_list("pk", flat=True)))
        assert sorted(sent.values()) == [Letter.State.SENT] * 2
        assert Letter.objects.filter(state=Letter.State.CANCELLED).count() == 8
        assert len(fake_esp.messages) == 2

    def test_a_signature_flagged_after_confirming_holds_its_letters_until_approved(
        self, client, delayed, signer, moderator, fake_esp
    ):
        (signature,) = signed_and_confirmed(client, delayed, signer, 1)
        Signature.objects.filter(pk=signature.pk).update(flag_reason="wave: one domain, 500 addresses")
        later = timezone.now() + timedelta(minutes=16)
        assert letter_service.letters_dispatch(now=later) == 0
        the_delay_passes()
        assert letter_service.letters_send(letter_ids=list(Letter.objects.values_list("pk", flat=True))) == {}
        moderation.signatures_approve(signature_ids=[signature.pk], actor=moderator, reason="A real person")
        assert letter_service.letters_dispatch() == 2

    def test_without_a_delay_letters_go_at_once(self, client, petition, signer):
        signed_and_confirmed(client, petition, signer, 1)
        assert all(letter.next_attempt_at <= timezone.now() for letter in Letter.objects.all())


class CountAfterReleaseTests:
    def test_staff_choose_whether_the_count_waits_for_the_release(self, client, delayed, signer):
        signed_and_confirmed(client, delayed, signer, 3)
        assert confirmed_count_from_database(delayed.pk) == 3
        Petition.objects.filter(pk=delayed.pk).update(count_after_release=True)
        assert confirmed_count_from_database(delayed.pk) == 0
        Signature.objects.update(confirmed_at=timezone.now() - timedelta(minutes=20))
        assert confirmed_count_from_database(delayed.pk) == 3


class DisposableDomainTests:
    def test_a_listed_throwaway_domain_is_held_silently(self, client, petition, signer):
        response = sign(client, petition, signer | {"email": "bot1@mailinator.com"})
        assert response.status_code == 302  # the same page as anyone gets
        held = Signature.objects.get()
        assert held.flag_reason == "disposable domain: mailinator.com"
        assert not held.outbox.exists()  # no email goes to a throwaway inbox

    def test_staff_add_a_new_throwaway_domain_and_exempt_a_wrongly_listed_one(
        self, client, petition, signer, moderator
    ):
        client.force_login(moderator)
        add = reverse("admin:petitions_disposabledomain_add")
        for domain, disposable in (("fresh-throwaway.example", "on"), ("mailinator.com", "")):
            fields = {"domain": domain, "note": "seen in a wave"} | ({"disposable": "on"} if disposable else {})
            assert client.post(add, fields).status_code == 302
        client.logout()
        sign(client, petition, signer | {"email": "a@sub.fresh-throwaway.example"})
        sign(client, petition, signer | {"email": "b@mailinator.com"})
        reasons = dict(Signature.objects.values_list("email_domain", "flag_reason"))
        assert reasons == {"sub.fresh-throwaway.example": "disposable domain: fresh-throwaway.example", "mailinator.com": ""}
