"""Signers' comments: only a confirmed signature not held for review can have
its comment published, and the moderator's reason is kept with the decision."""

import pytest
from django.urls import reverse

from petitions import caches
from petitions.models import ModerationDecision, Signature
from petitions.services import moderation, signing
from tests.conftest import sign

pytestmark = pytest.mark.django_db

COMMENT = "Close the detention centres now."


def commented(client, petition, signer, *, confirm):
    sign(client, petition, signer | {"comment": COMMENT})
    signature = Signature.objects.get()
    if confirm:
        signing.signature_confirm(public_id=signature.public_id)
    return signature


def shown(client, petition):
    caches.pages_forget()
    return COMMENT in client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()


class CommentModerationTests:
    def test_an_unconfirmed_signatures_comment_cannot_be_published(self, client, petition, signer, moderator):
        signature = commented(client, petition, signer, confirm=False)
        assert moderation.comments_decide(signature_ids=[signature.pk], actor=moderator, approve=True) == 0
        assert Signature.objects.get().comment_state == Signature.CommentState.PENDING
        assert not shown(client, petition)

    def test_a_flagged_signatures_comment_cannot_be_published(self, client, petition, signer, moderator):
        signature = commented(client, petition, signer, confirm=True)
        Signature.objects.update(flag_reason="over limit: IP burst")
        assert moderation.comments_decide(signature_ids=[signature.pk], actor=moderator, approve=True) == 0
        assert not shown(client, petition)

    def test_a_published_comment_leaves_the_page_when_its_signature_is_flagged(
        self, client, petition, signer, moderator
    ):
        signature = commented(client, petition, signer, confirm=True)
        assert moderation.comments_decide(signature_ids=[signature.pk], actor=moderator, approve=True) == 1
        assert shown(client, petition)
        Signature.objects.update(flag_reason="blocklist: domain example.org")
        assert not shown(client, petition)

    def test_the_moderators_reason_is_recorded(self, client, petition, signer, moderator):
        signature = commented(client, petition, signer, confirm=True)
        moderation.comments_decide(
            signature_ids=[signature.pk], actor=moderator, approve=False, reason="Names a private person"
        )
        decision = ModerationDecision.objects.get()
        assert decision.action == ModerationDecision.Action.COMMENT_REJECT
        assert decision.reason == "Names a private person"
