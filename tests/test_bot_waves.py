"""A wave of bot signatures caught within the petition's release delay never
reaches the recipients; the public count shows signatures at once or after the
delay, as staff choose."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from petitions.models import Letter, Outbox, Petition, Signature
from petitions.selectors.counts import confirmed_count_from_database
from petitions.services import letters as letter_service
from petitions.services import moderation, signing, supporter_mail, waves
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
        assert not held.outbox.exclude(state=Outbox.State.SKIPPED).exists()  # no email goes to a throwaway inbox

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
        assert reasons == {
            "sub.fresh-throwaway.example": "disposable domain: fresh-throwaway.example",
            "mailinator.com": "",
        }


def bots_sign(client, petition, signer, emails_and_names, *, drain_every=50):
    """Each from its own IP, the outbox drain running as it would meanwhile."""
    for number, (email, first, last) in enumerate(emails_and_names):
        client.post(
            reverse("petitions:sign", args=[petition.slug]),
            signer | {"email": email, "first_name": first, "last_name": last},
            REMOTE_ADDR=f"10.{number // 65536}.{number // 256 % 256}.{number % 256}",
        )
        if number % drain_every == drain_every - 1:
            supporter_mail.outbox_drain()
    supporter_mail.outbox_drain()


@pytest.fixture
def waves_on(settings, monkeypatch):
    settings.WAVE_MIN_SIGNATURES = 40
    monkeypatch.setattr(supporter_mail, "DRAIN_GATHER_SECONDS", 0)
    # Scan the window at every batch: these waves arrive within seconds.
    monkeypatch.setattr(waves, "CHECK_SECONDS", 0)


class WaveTests:
    def test_500_bots_from_500_ips_and_one_domain_send_no_letter_and_do_not_count(
        self, client, delayed, signer, waves_on, fake_esp
    ):
        bots = [(f"bot{n}@quickvotes.example", "Jan", f"Kowalski{chr(97 + n % 26)}") for n in range(500)]
        bots_sign(client, delayed, signer, bots)
        # The bots read their inboxes and confirm whatever reached them.
        for signature in Signature.objects.filter(state=Signature.State.PENDING, flag_reason=""):
            signing.signature_confirm(public_id=signature.public_id)
        assert Signature.objects.exclude(flag_reason="").count() == 500
        assert confirmed_count_from_database(delayed.pk) == 0
        the_delay_passes()
        assert letter_service.letters_dispatch() == 0
        assert not [m for m in fake_esp.messages if m["subject"] == delayed.letter_subject]

    def test_five_rotating_domains_are_five_waves(self, client, delayed, signer, waves_on):
        bots = [(f"b{n}@rota{n % 5}.example", "Anna", f"Nowak{chr(97 + n % 26)}") for n in range(500)]
        bots_sign(client, delayed, signer, bots)
        held_domains = set(Signature.objects.exclude(flag_reason="").values_list("email_domain", flat=True))
        assert held_domains == {f"rota{n}.example" for n in range(5)}
        assert Signature.objects.filter(flag_reason="").count() < 5 * 40

    def test_made_up_names_with_digits_are_a_wave_even_at_a_large_provider(self, client, delayed, signer, waves_on):
        bots = [(f"someone.{n}@gmail.com", "User", f"Bot{1000 + n}") for n in range(120)]
        bots_sign(client, delayed, signer, bots)
        assert Signature.objects.filter(flag_reason="").count() < 40
        assert Signature.objects.exclude(flag_reason="").first().flag_reason.startswith("wave: ")

    def test_a_real_crowd_is_not_a_wave(self, client, delayed, signer, waves_on):
        first = ["Amira", "Zoë", "João", "Søren", "Leïla", "Chidi", "Anna", "Ελένη", "Ivan", "Mei"]
        last = ["Haddad", "Müller", "O'Brien", "Okafor", "Nowak", "Rossi", "Kim", "Silva", "Novak", "Dubois"]
        crowd = [(f"p{n}@mail{n}.example", first[n % 10], last[n // 10 % 10]) for n in range(300)]
        bots_sign(client, delayed, signer, crowd)
        assert not Signature.objects.exclude(flag_reason="").exists()


class WaveScanTests:
    def test_between_scans_new_signatures_of_a_known_wave_are_held_without_a_scan(
        self, client, delayed, signer, waves_on, monkeypatch, django_assert_max_num_queries
    ):
        bots = [(f"bot{n}@quickvotes.example", "Jan", f"Kowalski{chr(97 + n % 26)}") for n in range(60)]
        bots_sign(client, delayed, signer, bots)  # scanned: a wave
        monkeypatch.setattr(waves, "CHECK_SECONDS", 600)
        waves.waves_flag(signatures=list(Signature.objects.all()[:1]))  # scans once more, and keeps what it found
        sign(client, delayed, signer | {"email": "late-bot@quickvotes.example", "last_name": "Kowalskiq"})
        late = Signature.objects.get(email="late-bot@quickvotes.example")
        with django_assert_max_num_queries(1):  # the flag itself; no scan of the window
            assert waves.waves_flag(signatures=[late]) == {late.pk}
