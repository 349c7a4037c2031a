"""Roles, silent holds, the blocklist, review queues, bulk invalidation and pausing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from petitions import caches
from petitions.addresses import email_canonical
from petitions.caches import pages_forget
from petitions.models import BlockedSource, Letter, ModerationDecision, Outbox, RateLimit, Signature
from petitions.selectors import counts
from petitions.services import letters as letter_service
from petitions.services import moderation, screening, signing, supporter_mail
from tests.conftest import sign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits():
    caches.screening.clear()
    yield
    caches.screening.clear()


@pytest.fixture(autouse=True)
def _drain_without_waiting(monkeypatch):
    monkeypatch.setattr(supporter_mail, "DRAIN_GATHER_SECONDS", 0)


def sign_from(client, petition, signer, ip, **fields):
    """Sign, then let the outbox drain do what it does next: apply the rate
    limits before sending the confirmation email."""
    response = client.post(reverse("petitions:sign", args=[petition.slug]), signer | fields, REMOTE_ADDR=ip)
    supporter_mail.outbox_drain()
    return response


def confirm_all():
    for signature in Signature.objects.filter(state=Signature.State.PENDING, flag_reason=""):
        signing.signature_confirm(public_id=signature.public_id)


class RoleTests:
    def test_a_moderator_cannot_edit_a_petition_or_see_email_addresses(self, client, moderator, petition, signer):
        sign(client, petition, signer)
        client.force_login(moderator)
        change_url = reverse("admin:petitions_petition_change", args=[petition.pk])
        assert client.get(change_url).status_code == 200  # view only
        response = client.post(change_url, {"title": "Hijacked"})
        assert response.status_code == 403
        petition.refresh_from_db()
        assert petition.title != "Hijacked"
        page = client.get(reverse("admin:petitions_signature_changelist")).content.decode()
        assert "Amira" in page and "amira.haddad@example.org" not in page
        detail_url = reverse("admin:petitions_signature_change", args=[Signature.objects.get().pk])
        detail = client.get(detail_url).content.decode()
        assert "amira.haddad@example.org" not in detail
        assert client.get(reverse("admin:petitions_mailing_add")).status_code == 403
        assert client.get(reverse("admin:petitions_target_add")).status_code == 403

    def test_a_campaigner_edits_petitions_but_cannot_moderate(self, client, campaigner, petition, signer):
        sign(client, petition, signer)
        client.force_login(campaigner)
        assert client.get(reverse("admin:petitions_petition_change", args=[petition.pk])).status_code == 200
        assert client.get(reverse("admin:petitions_signature_changelist")).status_code == 403
        assert client.get(reverse("admin:petitions_flaggedsignature_changelist")).status_code == 403
        assert client.get(reverse("admin:petitions_signature_bulk_invalidate")).status_code == 403

    def test_staff_with_no_role_see_nothing(self, client, db):
        from django.contrib.auth import get_user_model

        nobody = get_user_model().objects.create_user(
            "nobody", "n@campaign.example.org", "correct horse battery", is_staff=True
        )
        client.force_login(nobody)
        assert client.get(reverse("admin:petitions_signature_changelist")).status_code == 403


class SilentHoldTests:
    def test_over_the_ip_limit_the_signer_sees_the_same_page_but_is_held(self, client, petition, signer):
        RateLimit.objects.filter(name="IP burst").update(max_signatures=2)
        responses = [
            sign_from(client, petition, signer, "203.0.113.7", email=f"person{n}@example.org") for n in range(4)
        ]
        signed_url = reverse("petitions:signed", args=[petition.slug])
        assert {(r.status_code, r["Location"]) for r in responses} == {(302, signed_url)}
        held = Signature.objects.exclude(flag_reason="")
        assert held.count() == 2 and {s.flag_reason for s in held} == {"over limit: IP burst"}
        # No email to possible victims: the drain skipped their confirmations.
        assert set(Outbox.objects.filter(signature__in=held).values_list("state", "esp_message_id")) == {
            (Outbox.State.SKIPPED, "")
        }
        # Another address is not affected.
        sign_from(client, petition, signer, "198.51.100.1", email="other@example.org")
        assert Signature.objects.get(email="other@example.org").flag_reason == ""

    def test_a_limit_counts_only_the_signatures_inside_its_window(self, client, petition, signer):
        RateLimit.objects.filter(name="IP burst").update(max_signatures=2)  # 2 a minute
        for n in range(2):
            sign_from(client, petition, signer, "203.0.113.7", email=f"person{n}@example.org")
        Signature.objects.update(created_at=timezone.now() - timedelta(seconds=61))
        sign_from(client, petition, signer, "203.0.113.7", email="third@example.org")
        assert Signature.objects.get(email="third@example.org").flag_reason == ""
        Signature.objects.update(created_at=timezone.now() - timedelta(seconds=50))
        sign_from(client, petition, signer, "203.0.113.7", email="fourth@example.org")
        assert Signature.objects.get(email="fourth@example.org").flag_reason == "over limit: IP burst"

    def test_a_held_signature_never_counts_or_sends_a_letter(self, client, petition, signer):
        BlockedSource.objects.create(kind="domain", value="bots.example")
        sign_from(client, petition, signer, "203.0.113.7", email="x@mail.bots.example")
        held = Signature.objects.get()
        assert held.flag_reason == "blocklist: domain bots.example"
        result, _ = signing.signature_confirm(public_id=held.public_id)
        assert result == signing.ConfirmResult.NOT_CONFIRMABLE
        assert not Letter.objects.exists() and counts.confirmed_count_from_database(petition.pk) == 0

    @pytest.mark.parametrize(
        "kind,value,email,ip",
        [("email", "Bad.Actor+x@gmail.com", "badactor@googlemail.com", "198.51.100.2"),
         ("ip_range", "203.0.113.0/24", "fine@example.org", "203.0.113.99"),
         ("ip_range", "2001:db8::/32", "fine@example.org", "2001:db8::1")],
    )
    def test_the_blocklist_holds_addresses_domains_and_ip_ranges(
        self, client, petition, signer, kind, value, email, ip
    ):
        BlockedSource.objects.create(kind=kind, value=value)
        assert sign_from(client, petition, signer, ip, email=email).status_code == 302
        assert Signature.objects.get().flag_reason.startswith("blocklist")
        assert not Outbox.objects.exclude(state=Outbox.State.SKIPPED).exists()  # recorded, never sent

    def test_a_blocklist_entry_added_or_deleted_in_the_admin_applies_at_once(self, client, petition, signer, superuser):
        sign_from(client, petition, signer, "192.0.2.5", email="before@bots.example")  # limits and blocklist now kept
        client.force_login(superuser)
        response = client.post(
            reverse("admin:petitions_blockedsource_add"), {"kind": "domain", "value": "bots.example"}
        )
        assert response.status_code == 302
        sign_from(client, petition, signer, "192.0.2.6", email="during@bots.example")
        entry = BlockedSource.objects.get()
        delete_url = reverse("admin:petitions_blockedsource_delete", args=[entry.pk])
        assert client.post(delete_url, {"post": "yes"}).status_code == 302
        sign_from(client, petition, signer, "192.0.2.7", email="after@bots.example")
        reasons = dict(Signature.objects.values_list("email", "flag_reason"))
        assert reasons == {
            "before@bots.example": "blocklist: email domain bots.example",  # flagged when the entry was added
            "during@bots.example": "blocklist: domain bots.example",
            "after@bots.example": "",  # the deletion applied before the next signature
        }

    def test_the_limits_are_editable_in_the_admin(self, client, petition, signer, db):
        from django.contrib.auth import get_user_model

        boss = get_user_model().objects.create_superuser("boss", "b@campaign.example.org", "correct horse battery")
        client.force_login(boss)
        limit = RateLimit.objects.get(name="IP burst")
        response = client.post(reverse("admin:petitions_ratelimit_change", args=[limit.pk]), {
            "name": "IP burst", "scope": "ip", "window_seconds": 60, "max_signatures": 1, "is_active": "on",
        })
        assert response.status_code == 302
        client.logout()
        sign_from(client, petition, signer, "192.0.2.5", email="a@example.org")
        sign_from(client, petition, signer, "192.0.2.5", email="b@example.org")
        flag_reasons = list(Signature.objects.order_by("pk").values_list("flag_reason", flat=True))
        assert flag_reasons == ["", "over limit: IP burst"]

    def test_the_domain_limit_holds_a_small_domain_but_never_a_large_webmail_provider(self, client, petition, signer):
        RateLimit.objects.filter(scope="email_domain").update(max_signatures=2)
        for n in range(4):
            sign_from(client, petition, signer, f"198.51.100.{n}", email=f"p{n}@tiny-domain.example")
            sign_from(client, petition, signer, f"192.0.2.{n}", email=f"p{n}@gmail.com")
        held_domains = sorted(Signature.objects.exclude(flag_reason="").values_list("email_domain", flat=True))
        assert held_domains == ["tiny-domain.example"] * 2

    def test_no_ip_address_is_stored_only_a_keyed_hash(self, client, petition, signer):
        sign_from(client, petition, signer, "203.0.113.7")
        signature = Signature.objects.get()
        assert signature.ip_hash == screening.ip_hash("203.0.113.7") and len(signature.ip_hash) == 32
        assert "203.0.113.7" not in str(Signature.objects.values().get())
        # One IPv6 home network is one source.
        assert screening.ip_hash("2001:db8:1:2::1") == screening.ip_hash("2001:db8:1:2:ffff::9")
        assert screening.ip_hash("2001:db8:1:2::1") != screening.ip_hash("2001:db8:1:3::1")


class CanonicalEmailTests:
    @pytest.mark.parametrize(
        "first,second",
        [("jane.doe@gmail.com", "JaneDoe+petitions@googlemail.com"), ("jane+a@outlook.com", "Jane@Outlook.com"),
         ("  jane@example.org ", "JANE@example.org")],
    )
    def test_spellings_of_one_mailbox_are_one_signer(self, client, petition, signer, first, second):
        sign(client, petition, signer | {"email": first})
        sign(client, petition, signer | {"email": second})
        supporter_mail.outbox_drain()
        assert Signature.objects.count() == 1
        assert Outbox.objects.filter(kind=Outbox.Kind.ALREADY_SIGNED_EMAIL).count() == 1

    def test_dots_matter_where_the_provider_says_they_do(self):
        assert email_canonical("jane.doe@example.org") != email_canonical("janedoe@example.org")
        assert email_canonical("jane+tag@example.org") == "jane+tag@example.org"


class ReviewQueueTests:
    def test_comments_are_shown_only_once_approved(self, client, petition, signer, moderator):
        sign(client, petition, signer | {"comment": "Close the centres <now>!"})
        signature = Signature.objects.get()
        assert signature.comment_state == "pending"

        def page():
            return client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()

        assert "Close the centres" not in page()
        signing.signature_confirm(public_id=signature.public_id)  # only a confirmed signature's comment is shown
        assert moderation.comments_decide(signature_ids=[signature.pk], actor=moderator, approve=True) == 1
        pages_forget()  # every process rebuilds its copy of the page within PAGE_CACHE_SECONDS
        assert "Close the centres &lt;now&gt;!" in page() and "<bdi>Amira</bdi>, Tunisia" in page()
        decision = ModerationDecision.objects.get()
        assert (decision.actor, decision.action) == (moderator, "comment_approve")

    def test_approving_a_held_signature_sends_its_confirmation(self, client, petition, signer, moderator):
        BlockedSource.objects.create(kind="email", value="amira.haddad@example.org")
        sign(client, petition, signer)
        held = Signature.objects.get()
        client.force_login(moderator)
        queue = client.get(reverse("admin:petitions_flaggedsignature_changelist"))
        assert list(queue.context["cl"].result_list) == [held]
        client.post(reverse("admin:petitions_flaggedsignature_changelist"),
                    {"action": "approve", "_selected_action": [held.pk], "reason": "a real person"})
        held.refresh_from_db()
        assert held.flag_reason == "" and held.last_decision.reason == "a real person"
        assert Outbox.objects.exclude(state=Outbox.State.SKIPPED).get().kind == Outbox.Kind.CONFIRMATION_EMAIL
        assert signing.signature_confirm(public_id=held.public_id)[0] == signing.ConfirmResult.CONFIRMED

    def test_the_limits_count_only_earlier_signatures_however_late_the_drain_looks(self, client, petition, signer):
        RateLimit.objects.filter(name="IP burst").update(max_signatures=2)
        for n in range(4):  # all signed before the drain looks at any of them
            sign(client, petition, signer | {"email": f"person{n}@example.org"})
        supporter_mail.outbox_drain()
        supporter_mail.outbox_drain()  # looking again changes nothing
        held_and_sent = Signature.objects.order_by("pk").values_list("flag_reason", "outbox__state")
        assert list(held_and_sent) == [("", "done"), ("", "done")] + [("over limit: IP burst", "skipped")] * 2

    def test_a_moderator_approval_is_not_undone_by_the_limits(self, client, petition, signer, moderator):
        RateLimit.objects.filter(name="IP burst").update(max_signatures=1)
        sign_from(client, petition, signer, "203.0.113.7", email="first@example.org")
        sign_from(client, petition, signer, "203.0.113.7", email="second@example.org")
        held = Signature.objects.get(email="second@example.org")
        assert held.flag_reason == "over limit: IP burst"
        moderation.signatures_approve(signature_ids=[held.pk], actor=moderator, reason="a real person")
        supporter_mail.outbox_drain()
        held.refresh_from_db()
        assert held.flag_reason == ""
        assert list(held.outbox.order_by("pk").values_list("state", flat=True)) == ["skipped", "done"]

    def test_blocking_a_domain_flags_its_existing_signatures_for_review(self, client, petition, signer):
        for n in range(3):
            sign(client, petition, signer | {"email": f"bot{n}@bots.example"})
        sign(client, petition, signer | {"email": "human@example.org"})
        confirm_all()
        entry, flagged = moderation.blocklist_add(kind="domain", value="bots.example")
        assert flagged == 3
        assert Signature.objects.flagged().count() == 3
        assert counts.confirmed_count_from_database(petition.pk) == 1  # held for review: counted once approved


class BulkInvalidationTests:
    def test_it_shows_the_count_before_changing_anything_then_invalidates_and_resyncs(
        self, client, petition, signer, moderator, django_capture_on_commit_callbacks
    ):
        for n in range(5):
            sign_from(client, petition, signer, f"198.51.100.{n}", email=f"bot{n}@bots.example", country="FR")
        sign_from(client, petition, signer, "192.0.2.1", email="human@example.org")
        confirm_all()
        counts.counts_reconcile()
        assert counts.confirmed_count(petition) == 6
        client.force_login(moderator)
        url = reverse("admin:petitions_signature_bulk_invalidate")
        conditions = {"petition": petition.pk, "email_domain": "bots.example", "reason": "bot wave"}
        preview = client.post(url, conditions | {"preview": "1"})
        assert preview.context["count"] == 5
        assert Signature.objects.counted().count() == 6  # nothing changed yet
        with django_capture_on_commit_callbacks(execute=True):
            done = client.post(url, conditions | {"confirm": "1", "expected_count": 5}, follow=True)
        assert "5 signature(s) invalidated." in done.content.decode()
        assert Signature.objects.counted().count() == 1
        assert counts.confirmed_count(petition) == 1
        bot_letters = Letter.objects.filter(signature__email_domain="bots.example")
        assert set(bot_letters.values_list("state", flat=True)) == {"cancelled"}
        decision = ModerationDecision.objects.get()
        assert decision.criteria["email_domain"] == "bots.example" and decision.signature_count == 5

    def test_if_the_count_changed_since_the_preview_nothing_is_invalidated(self, client, petition, signer, moderator):
        for n in range(3):
            sign(client, petition, signer | {"email": f"bot{n}@bots.example"})
        criteria = {"petition": petition.pk, "email_domain": "bots.example"}
        assert moderation.bulk_invalidate(criteria=criteria, actor=moderator, reason="x", expected_count=2) is None
        assert not Signature.objects.filter(state="invalidated").exists()

    def test_a_condition_besides_the_petition_is_required(self, client, petition, moderator):
        client.force_login(moderator)
        response = client.post(
            reverse("admin:petitions_signature_bulk_invalidate"), {"petition": petition.pk, "preview": "1"}
        )
        assert "Give at least one condition" in response.content.decode()


class PauseTests:
    def test_pausing_signing_shows_its_message_and_takes_nothing(self, client, petition, signer):
        petition.signing_paused = True
        petition.signing_paused_message = "Back on Monday."
        petition.save()
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        assert "Back on Monday." in page and 'name="first_name"' not in page
        assert sign(client, petition, signer).status_code == 409
        assert not Signature.objects.exists()

    def test_a_pause_saved_after_the_page_was_cached_shows_at_once_in_the_saving_process(
        self, client, petition, signer
    ):
        url = reverse("petitions:detail", args=[petition.slug])
        assert 'name="first_name"' in client.get(url).content.decode()  # now cached, as is the petition
        sign(client, petition, signer | {"email": "first@example.org"})
        petition.signing_paused = True
        petition.signing_paused_message = "Back on Monday."
        petition.save()  # as the admin saves it
        assert "Back on Monday." in client.get(url).content.decode()
        assert sign(client, petition, signer).status_code == 409

    def test_pausing_letters_holds_them_until_resumed(self, client, fake_esp, petition, signer):
        petition.letters_paused = True
        petition.save()
        sign(client, petition, signer)
        confirm_all()
        page = client.get(reverse("petitions:detail", args=[petition.slug])).content.decode()
        # No message of staff's own: the standard one, in the page's language.
        assert petition.letters_paused_message == ""
        assert "Letters to the recipients are paused for now; yours will go out later." in page
        for letter in Letter.objects.all():
            assert letter_service.letter_send(letter_id=letter.pk) is None
        assert letter_service.letters_dispatch() == 0 and not fake_esp.messages
        petition.letters_paused = False
        petition.save()
        assert letter_service.letters_dispatch() == 2

    def test_closing_a_petition_in_the_admin_notes_when(self, client, petition, db):
        from django.contrib.auth import get_user_model

        boss = get_user_model().objects.create_superuser("boss", "b@campaign.example.org", "correct horse battery")
        client.force_login(boss)
        data = {
            "title": petition.title, "slug": petition.slug, "language": "en", "goal": petition.goal,
            "targets": [t.pk for t in petition.targets.all()],
            "headline": petition.headline, "summary": petition.summary, "body": petition.body,
            "call_to_action": petition.call_to_action,
            "further_reading": petition.further_reading, "letter_subject": petition.letter_subject,
            "letter_greeting": petition.letter_greeting, "letter_body": petition.letter_body,
            "letter_demands_intro": petition.letter_demands_intro, "letter_closing": petition.letter_closing,
            "signing_paused_message": "x", "letters_paused_message": "y", "letter_release_minutes": 0,
            "demands-TOTAL_FORMS": 0, "demands-INITIAL_FORMS": 0,
            "background_facts-TOTAL_FORMS": 0, "background_facts-INITIAL_FORMS": 0,
        }
        response = client.post(reverse("admin:petitions_petition_change", args=[petition.pk]), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        petition.refresh_from_db()
        assert not petition.is_open and petition.closed_at is not None
