import pytest
from django.urls import reverse

from petitions import services
from petitions.models import Letter, Signature
from tests.conftest import sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(client, petition, signer):
    for number, country in enumerate(["TN", "FR", "FR"]):
        sign(client, petition, signer | {"email": f"person{number}@example.org", "country": country, "last_name": f"Person{number}"})
    return list(Signature.objects.order_by("pk"))


class AdminTests:
    @pytest.mark.parametrize("model", ["petition", "target", "signature", "letter", "outbox", "consentwording"])
    def test_every_list_and_the_petition_form_open(self, client, superuser, petition, signed, model):
        client.force_login(superuser)
        assert client.get(reverse(f"admin:petitions_{model}_changelist")).status_code == 200
        assert client.get(reverse("admin:petitions_petition_change", args=[petition.pk])).status_code == 200

    def test_signatures_can_be_searched_by_name_and_email_and_filtered(self, client, superuser, signed):
        client.force_login(superuser)
        url = reverse("admin:petitions_signature_changelist")
        assert list(client.get(url, {"q": "Person1"}).context["cl"].result_list) == [signed[1]]
        assert list(client.get(url, {"q": "PERSON2@example.org"}).context["cl"].result_list) == [signed[2]]
        by_country = client.get(url, {"country": "FR"}).context["cl"].result_list
        assert sorted(s.pk for s in by_country) == [signed[1].pk, signed[2].pk]
        assert client.get(url, {"state": "confirmed"}).context["cl"].result_count == 0
        assert client.get(url, {"created_at__gte": "2000-01-01 00:00:00+00:00"}).status_code == 200

    def test_the_invalidate_action_stops_counting_and_cancels_unsent_letters(self, client, moderator, signed):
        for signature in signed:
            services.signature_confirm(public_id=signature.public_id)
        client.force_login(moderator)
        response = client.post(
            reverse("admin:petitions_signature_changelist"),
            {"action": "invalidate", "_selected_action": [signed[0].pk, signed[1].pk], "reason": "bot wave from one IP"},
            follow=True,
        )
        assert "2 signature(s) invalidated." in response.content.decode()
        assert list(Signature.objects.counted().values_list("pk", flat=True)) == [signed[2].pk]
        assert set(Letter.objects.filter(signature__in=signed[:2]).values_list("state", flat=True)) == {Letter.State.CANCELLED}
        assert set(Letter.objects.filter(signature=signed[2]).values_list("state", flat=True)) == {Letter.State.QUEUED}
        invalidated = Signature.objects.get(pk=signed[0].pk)
        assert invalidated.invalidated_reason == "bot wave from one IP"
        decision = invalidated.last_decision
        assert (decision.actor, decision.action, decision.signature_count) == (moderator, "invalidate", 2)
        assert decision.reason == "bot wave from one IP"

    def test_the_retry_action_queues_failed_letters_again(self, client, campaigner, signed):
        services.signature_confirm(public_id=signed[0].public_id)
        Letter.objects.update(state=Letter.State.FAILED, last_error="422 refused")
        client.force_login(campaigner)
        response = client.post(
            reverse("admin:petitions_letter_changelist"),
            {"action": "retry", "_selected_action": list(Letter.objects.values_list("pk", flat=True))},
            follow=True,
        )
        assert "2 failed letter(s) queued again." in response.content.decode()
        assert set(Letter.objects.values_list("state", flat=True)) == {Letter.State.QUEUED}

    def test_letters_can_be_filtered_by_state_and_recipient(self, client, superuser, signed):
        services.signature_confirm(public_id=signed[0].public_id)
        letter = Letter.objects.order_by("pk").first()
        client.force_login(superuser)
        url = reverse("admin:petitions_letter_changelist")
        assert client.get(url, {"state": "queued"}).context["cl"].result_count == 2
        assert list(client.get(url, {"target__id__exact": letter.target_id}).context["cl"].result_list) == [letter]

    def test_signatures_cannot_be_deleted_or_added_in_the_admin(self, client, superuser, signed):
        client.force_login(superuser)
        assert client.get(reverse("admin:petitions_signature_delete", args=[signed[0].pk])).status_code == 403
        assert client.get(reverse("admin:petitions_signature_add")).status_code == 403

    def test_a_signer_email_never_appears_on_public_pages(self, client, petition, signed):
        for name in ("detail", "signed", "confirmed", "count"):
            page = client.get(reverse(f"petitions:{name}", args=[petition.slug])).content.decode()
            assert "@example.org" not in page
