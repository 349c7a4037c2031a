import pytest
from django.core.cache import cache
from django.urls import reverse

from petitions.models import Signature
from petitions.selectors import counts
from petitions.services import moderation, signing
from tests.conftest import sign

pytestmark = pytest.mark.django_db


def confirm_all():
    for signature in Signature.objects.filter(state=Signature.State.PENDING):
        signing.signature_confirm(public_id=signature.public_id)


class CountTests:
    def test_the_page_counts_only_confirmed_signatures_with_progress_toward_the_goal(self, client, petition, signer):
        for number in range(3):
            sign(client, petition, signer | {"email": f"s{number}@example.org"})
        signing.signature_confirm(public_id=Signature.objects.first().public_id)
        petition.goal = 4
        petition.save()
        response = client.get(reverse("petitions:detail", args=[petition.slug]))
        assert response.context["confirmed_count"] == 1
        assert response.context["progress_percent"] == 25
        assert '<progress max="4" value="1"' in response.content.decode()

    def test_the_count_lags_until_reconciled(self, client, petition, signer):
        url = reverse("petitions:count", args=[petition.slug])
        assert client.get(url).json() == {"confirmed": 0, "goal": petition.goal}
        sign(client, petition, signer)
        confirm_all()
        assert client.get(url).json()["confirmed"] == 0  # cached: may lag
        assert counts.counts_reconcile() == {petition.pk: 1}
        assert client.get(url).json()["confirmed"] == 1

    def test_reconciliation_corrects_a_wrong_cached_count(self, petition):
        cache.set(f"petition:{petition.pk}:confirmed-count", 999)
        counts.counts_reconcile()
        assert counts.confirmed_count(petition) == 0

    def test_invalidated_signatures_stop_counting_at_once(self, client, petition, signer):
        sign(client, petition, signer)
        confirm_all()
        counts.counts_reconcile()
        assert counts.confirmed_count(petition) == 1
        with_callbacks = moderation.signatures_invalidate(
            signature_ids=[Signature.objects.get().pk], actor=None, reason="bot"
        )
        assert with_callbacks == 1
        counts.counts_reconcile()  # what the on-commit hook does after the transaction
        assert counts.confirmed_count(petition) == 0

    def test_the_count_endpoint_may_be_cached_by_browsers_and_proxies_for_30_seconds(self, client, petition):
        response = client.get(reverse("petitions:count", args=[petition.slug]))
        assert "max-age=30" in response["Cache-Control"] and "public" in response["Cache-Control"]
