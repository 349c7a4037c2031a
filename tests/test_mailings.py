"""Campaign updates: audience, batches through the ESP, exactly once, and the admin."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from petitions import emails
from petitions.delivery import transport
from petitions.models import ConsentWording, Mailing, MailingRecipient, Outbox, Signature, Suppression
from petitions.selectors import mailings as mailing_selectors
from petitions.services import mailings, signing, supporter_mail, suppression

pytestmark = pytest.mark.django_db


def supporters_create(petition, count, *, updates=True, state=Signature.State.CONFIRMED, start=0):
    consents = signing.consent_wordings_current()
    Signature.objects.bulk_create(
        Signature(
            petition=petition, first_name="Supporter", last_name=str(number), email=f"Supporter{number}@Example.org",
            email_normalized=f"supporter{number}@example.org", country="FR", state=state,
            letter_consent=consents[ConsentWording.Kind.LETTER],
            updates_consent=consents[ConsentWording.Kind.UPDATES] if updates else None,
        )
        for number in range(start, start + count)
    )


@pytest.fixture
def mailing(petition, campaigner):
    return Mailing.objects.create(
        petition=petition, subject="News: the centres", created_by=campaigner,
        body="The **Tajoura** centre is closed.\n\n- first\n- second\n\n[Read more](https://example.org/news)\n\n<script>alert(1)</script>",
    )


def run_senders(mailing, times=1):
    for _ in range(times):
        mailings.mailing_send(mailing_id=mailing.pk)


class AudienceTests:
    def test_it_goes_to_confirmed_supporters_who_opted_in_minus_suppressed(self, petition, mailing):
        supporters_create(petition, 5)
        supporters_create(petition, 2, updates=False, start=100)
        supporters_create(petition, 2, state=Signature.State.PENDING, start=200)
        supporters_create(petition, 1, state=Signature.State.INVALIDATED, start=300)
        Suppression.objects.create(email_normalized="supporter0@example.org", reason="bounced")
        assert mailing_selectors.mailing_audience_count(mailing) == 4
        assert mailings.mailing_start(mailing_id=mailing.pk) == 4
        assert sorted(MailingRecipient.objects.values_list("email", flat=True)) == [
            f"Supporter{n}@Example.org" for n in (1, 2, 3, 4)
        ]

    def test_starting_twice_starts_once(self, petition, mailing):
        supporters_create(petition, 3)
        mailings.mailing_start(mailing_id=mailing.pk)
        with pytest.raises(mailings.MailingStateError):
            mailings.mailing_start(mailing_id=mailing.pk)
        assert MailingRecipient.objects.count() == 3


class SendingTests:
    def test_batches_go_through_the_esp_batch_api_with_per_recipient_unsubscribe(
        self, fake_esp, petition, mailing, settings
    ):
        settings.MAILING_BATCH_SIZE = 100
        supporters_create(petition, 250)
        mailings.mailing_start(mailing_id=mailing.pk)
        run_senders(mailing)
        assert fake_esp.request_count == 3  # 100 + 100 + 50, not 250 calls
        messages = fake_esp.messages
        assert len(messages) == 250
        assert len({m["to"][0] for m in messages}) == 250
        for message in messages[:5]:
            link = message["headers"]["List-Unsubscribe"].strip("<>")
            assert link.startswith("http://testserver/en/unsubscribe/")
            assert message["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert link in message["text"] and link in message["html"]
            assert "{{" not in message["text"] + message["html"]
            assert "<strong>Tajoura</strong>" in message["html"] and "<script>" not in message["html"]
        assert len({m["headers"]["List-Unsubscribe"] for m in messages}) == 250
        mailing.refresh_from_db()
        assert mailing.state == Mailing.State.SENT and mailing.finished_at
        assert mailing_selectors.mailing_progress(mailing) | {} == {
            "total": 250, "sent": 250, "failed": 0, "skipped": 0, "remaining": 0, "percent": 100
        }
        assert MailingRecipient.objects.filter(sent_at__isnull=True).count() == 0
        assert set(MailingRecipient.objects.values_list("esp_message_id", flat=True)) == {m["id"] for m in messages}

    def test_a_double_sent_mailing_reaches_each_recipient_once(self, fake_esp, petition, mailing):
        supporters_create(petition, 120)
        mailings.mailing_start(mailing_id=mailing.pk)
        run_senders(mailing, times=3)
        mailings.mailings_resume()
        run_senders(mailing)
        assert len(fake_esp.messages) == 120
        assert len({m["to"][0] for m in fake_esp.messages}) == 120

    def test_a_crash_mid_mailing_resumes_without_duplicates(self, fake_esp, petition, mailing, settings):
        settings.MAILING_BATCH_SIZE = 50
        supporters_create(petition, 150)
        mailings.mailing_start(mailing_id=mailing.pk)
        # A sender claims a batch, the ESP accepts it, and the worker dies
        # before recording anything: the rows stay claimed.
        first_batch = mailings._batch_claim_new(mailing.pk)
        members = list(MailingRecipient.objects.select_related("signature").filter(batch=first_batch))
        message = emails.mailing_batch_email(mailing, members)
        transport.deliver_batch(message, idempotency_key=f"mailing-{mailing.pk}-{first_batch}")
        assert len(fake_esp.messages) == 50
        run_senders(mailing)  # the rest go; the crashed batch is still within its lease
        assert MailingRecipient.objects.filter(state=MailingRecipient.State.SENDING).count() == 50
        MailingRecipient.objects.filter(batch=first_batch).update(claimed_at=timezone.now() - timedelta(minutes=5))
        run_senders(mailing)
        assert MailingRecipient.objects.filter(state=MailingRecipient.State.SENT).count() == 150
        # The crashed batch was sent again under the same key: the ESP dropped it.
        assert fake_esp.duplicates_suppressed == 1
        assert len(fake_esp.messages) == 150 and len({m["to"][0] for m in fake_esp.messages}) == 150

    def test_a_transient_esp_failure_sends_the_batch_again_later(self, fake_esp, petition, mailing):
        supporters_create(petition, 10)
        mailings.mailing_start(mailing_id=mailing.pk)
        fake_esp.fail_next(1, status=503)
        run_senders(mailing)
        assert not fake_esp.messages
        assert set(MailingRecipient.objects.values_list("state", flat=True)) == {MailingRecipient.State.SENDING}
        MailingRecipient.objects.update(claimed_at=timezone.now() - timedelta(minutes=5))
        run_senders(mailing)
        assert len(fake_esp.messages) == 10
        assert Mailing.objects.get().state == Mailing.State.SENT

    def test_an_address_that_unsubscribes_after_the_start_gets_nothing(self, client, fake_esp, petition, mailing):
        supporters_create(petition, 3)
        mailings.mailing_start(mailing_id=mailing.pk)
        leaver = Signature.objects.get(email_normalized="supporter1@example.org")
        suppression.supporter_unsubscribe(public_id=leaver.public_id)
        run_senders(mailing)
        assert sorted(m["to"][0] for m in fake_esp.messages) == ["Supporter0@Example.org", "Supporter2@Example.org"]
        assert mailing_selectors.mailing_progress(mailing)["skipped"] == 1

    def test_pause_resume_and_cancel(self, fake_esp, petition, mailing, settings):
        settings.MAILING_BATCH_SIZE = 10
        supporters_create(petition, 30)
        mailings.mailing_start(mailing_id=mailing.pk)
        assert mailings.mailing_pause(mailing_id=mailing.pk)
        run_senders(mailing)
        assert not fake_esp.messages
        assert mailings.mailing_resume(mailing_id=mailing.pk)
        mailings._batch_send(mailing.pk, mailings._batch_claim_new(mailing.pk))
        assert len(fake_esp.messages) == 10
        assert mailings.mailing_cancel(mailing_id=mailing.pk)
        run_senders(mailing)
        assert len(fake_esp.messages) == 10
        assert mailing_selectors.mailing_progress(mailing) | {} == {
            "total": 30, "sent": 10, "failed": 0, "skipped": 20, "remaining": 0, "percent": 100
        }

    def test_without_a_batch_capable_backend_each_recipient_gets_their_own_message(self, petition, mailing, mailoutbox):
        supporters_create(petition, 3)
        mailings.mailing_start(mailing_id=mailing.pk)
        run_senders(mailing)
        assert sorted(tuple(m.to) for m in mailoutbox) == [(f"Supporter{n}@Example.org",) for n in range(3)]
        assert all(m.extra_headers["List-Unsubscribe"].strip("<>") in m.body for m in mailoutbox)


class MailingAdminTests:
    @pytest.fixture
    def staff_client(self, client, campaigner):
        from django.contrib.auth.models import Permission

        campaigner.user_permissions.add(*Permission.objects.filter(codename__endswith="_mailing"))
        client.force_login(campaigner)
        return client

    def test_a_campaigner_writes_previews_tests_and_sends_an_update(self, staff_client, petition, campaigner):
        supporters_create(petition, 7)
        response = staff_client.post(
            reverse("admin:petitions_mailing_add"),
            {
                "petition": petition.pk, "language": "en", "subject": "An update", "body": "Hello **supporters**",
                "translations-TOTAL_FORMS": 0, "translations-INITIAL_FORMS": 0,
            },
        )
        assert response.status_code == 302
        mailing = Mailing.objects.get()
        assert mailing.created_by == campaigner
        page = staff_client.get(reverse("admin:petitions_mailing_change", args=[mailing.pk])).content.decode()
        preview_url = reverse("admin:petitions_mailing_preview", args=[mailing.pk])
        assert f'src="{preview_url}"' in page
        assert "<strong>supporters</strong>" in staff_client.get(preview_url).content.decode()
        staff_client.post(reverse("admin:petitions_mailing_test", args=[mailing.pk]))
        test_entry = Outbox.objects.get(kind=Outbox.Kind.MAILING_TEST)
        assert test_entry.to_email == campaigner.email
        confirm = staff_client.get(reverse("admin:petitions_mailing_send", args=[mailing.pk]))
        assert "<strong>7</strong> supporters" in confirm.content.decode()
        assert not MailingRecipient.objects.exists()  # showing the count sends nothing
        staff_client.post(reverse("admin:petitions_mailing_send", args=[mailing.pk]))
        assert Mailing.objects.get().state == Mailing.State.SENDING
        progress = staff_client.get(reverse("admin:petitions_mailing_progress", args=[mailing.pk])).json()
        assert progress == {
            "total": 7, "sent": 0, "failed": 0, "skipped": 0, "remaining": 7, "percent": 0, "state": "Sending"
        }

    def test_the_test_copy_goes_to_the_staff_member_and_is_marked(self, staff_client, fake_esp, mailing, campaigner):
        staff_client.post(reverse("admin:petitions_mailing_test", args=[mailing.pk]))
        supporter_mail.outbox_deliver(outbox_id=Outbox.objects.get().pk)
        [message] = fake_esp.messages
        assert message["to"] == [campaigner.email] and message["subject"] == "[Test] News: the centres"

    def test_someone_without_change_permission_cannot_send(self, client, mailing):
        viewer = get_user_model().objects.create_user(
            "viewer", "v@campaign.example.org", "correct horse battery", is_staff=True
        )
        from django.contrib.auth.models import Permission

        viewer.user_permissions.add(Permission.objects.get(codename="view_mailing"))
        client.force_login(viewer)
        assert client.post(reverse("admin:petitions_mailing_send", args=[mailing.pk])).status_code == 403
        assert Mailing.objects.get().state == Mailing.State.DRAFT
