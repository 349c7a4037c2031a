"""Nobody learns whether someone signed, and one mailbox is one signature
whatever the spelling of its domain."""

import pytest
from django.core import mail
from django.urls import reverse

from petitions.models import Letter, RepeatAttempt, Signature
from petitions.services import signing, supporter_mail
from tests.conftest import FROM_THE_PETITION_PAGE

pytestmark = pytest.mark.django_db

ATTACKER_IP = "198.51.100.7"
VICTIM = "victim@example.net"


@pytest.fixture(autouse=True)
def _drain_without_waiting(monkeypatch):
    monkeypatch.setattr(supporter_mail, "DRAIN_GATHER_SECONDS", 0)


def drain_outbox():
    supporter_mail.outbox_drain()


def sign_from(client, petition, signer, email, ip):
    return client.post(
        reverse("petitions:sign", args=[petition.slug]), signer | {"email": email}, REMOTE_ADDR=ip,
        headers=FROM_THE_PETITION_PAGE,
    )


def last_signature_held(client, petition, signer, *, victim_had_signed):
    """The rate-limit oracle: from one IP, four addresses of the attacker's, the
    victim's, then one more of the attacker's; is that last one held?"""
    if victim_had_signed:
        sign_from(client, petition, signer, VICTIM, "203.0.113.99")  # the victim, from home, earlier
        drain_outbox()
    for number in range(4):
        sign_from(client, petition, signer, f"attacker{number}@example.org", ATTACKER_IP)
    sign_from(client, petition, signer, VICTIM, ATTACKER_IP)
    sign_from(client, petition, signer, "attacker-last@example.org", ATTACKER_IP)
    drain_outbox()
    last = Signature.objects.get(email_normalized="attacker-last@example.org")
    return bool(last.flag_reason)


class RateLimitOracleTests:
    def test_the_attackers_last_signature_fares_the_same_whether_or_not_the_victim_signed(
        self, client, petition, signer
    ):
        held_if_signed = last_signature_held(client, petition, signer, victim_had_signed=True)
        Signature.objects.all().delete()
        RepeatAttempt.objects.all().delete()
        mail.outbox.clear()
        held_if_not = last_signature_held(client, petition, signer, victim_had_signed=False)
        assert held_if_signed == held_if_not is True  # the sixth from one IP in a minute is over "IP burst" (5)


class OneMailboxTests:
    @pytest.mark.parametrize(
        "spellings",
        [
            ["h@bücher.example", "h@xn--bcher-kva.example", "ｈ＠ｂüｃｈｅｒ．ｅｘａｍｐｌｅ"],
            ["janedoe@gmail.com", "ｊａｎｅ．ｄｏｅ＠ｇｍａｉｌ．ｃｏｍ", "Jane.Doe+petition@googlemail.com"],
        ],
    )
    def test_every_spelling_of_one_mailbox_is_one_signature_and_one_letter_each(
        self, client, petition, signer, spellings
    ):
        for number, spelling in enumerate(spellings):
            sign_from(client, petition, signer, spelling, f"192.0.2.{number + 1}")
        assert Signature.objects.count() == 1
        signing.signature_confirm(public_id=Signature.objects.get().public_id)
        assert Letter.objects.count() == petition.targets.filter(is_active=True).count()
