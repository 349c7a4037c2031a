"""The staff dashboard: signatures over time and by country, the confirmation
rate, letters per recipient, queue health, and who may see it."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from petitions.models import ConsentWording, Letter, Mailing, MailingRecipient, Outbox, Signature, Target
from petitions.services import signing
from tests.conftest import staff

pytestmark = pytest.mark.django_db



def signatures_add(petition, *specs):
    """Signatures made at given times: each spec is (age, country, state[, flag_reason])."""
    consent = ConsentWording.objects.filter(kind=ConsentWording.Kind.LETTER).first()
    now = timezone.now()
    start = Signature.objects.count()
    signatures = []
    for number, (age, country, state, *flag) in enumerate(specs, start=start):
        created = now - age
        signatures.append(
            Signature(
                petition=petition, first_name="Signer", last_name=f"Number{number}",
                email=f"signer{number}@example.org", email_normalized=f"signer{number}@example.org",
                country=country, state=state, letter_consent=consent, created_at=created,
                confirmed_at=created + timedelta(minutes=5) if state == Signature.State.CONFIRMED else None,
                flag_reason=flag[0] if flag else "",
            )
        )
    return Signature.objects.bulk_create(signatures)


def dashboard(client, user, **params):
    client.force_login(user)
    return client.get(reverse("admin:petitions_dashboard"), params)


CONFIRMED, PENDING, INVALIDATED = Signature.State.CONFIRMED, Signature.State.PENDING, Signature.State.INVALIDATED


class DashboardTests:
    def test_it_draws_signatures_per_hour_and_per_day_from_the_database(self, client, superuser, petition):
        signatures_add(
            petition,
            (timedelta(hours=1), "TN", CONFIRMED), (timedelta(hours=1), "TN", CONFIRMED),
            (timedelta(hours=1), "FR", PENDING),
            (timedelta(hours=30), "FR", CONFIRMED),
            *[(timedelta(days=10), "DE", CONFIRMED)] * 4,
            (timedelta(days=61), "DE", CONFIRMED),
        )
        response = dashboard(client, superuser)
        assert response.status_code == 200

        hourly = {bucket.start: bucket for bucket in response.context["hourly"]}
        assert len(hourly) == 48
        an_hour_ago = (timezone.now() - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        assert (hourly[an_hour_ago].total, hourly[an_hour_ago].confirmed) == (3, 2)
        assert sum(bucket.total for bucket in hourly.values()) == 4

        daily = {bucket.start: bucket for bucket in response.context["daily"]}
        assert len(daily) == 60
        ten_days_ago = (timezone.now() - timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)
        assert daily[ten_days_ago].total == 4
        assert sum(bucket.total for bucket in daily.values()) == 8  # the one from 61 days ago is outside

        page = response.content.decode()
        assert page.count('role="img"') == 2
        assert "<title id=\"chart-hourly-title\">Signatures per hour, last 48 hours</title>" in page
        assert "4 signatures in the last 48 hours, 3 of them confirmed so far." in page
        assert f"{an_hour_ago:%a %d %b, %H:00}" in page  # the bar's tooltip
        assert "Signatures per day, last 60 days as a table" in page
        # The taller bar of the busiest hour reaches higher (smaller y) than any other.
        bars = response.context["hourly_chart"].bars
        busiest = list(hourly).index(an_hour_ago)
        assert bars[busiest].total_y == min(bar.total_y for bar in bars)

    def test_it_stays_a_handful_of_queries_however_many_signatures(
        self, client, superuser, petition, django_assert_max_num_queries
    ):
        signatures_add(petition, *[(timedelta(hours=hours % 1000), "FR", CONFIRMED) for hours in range(500)])
        client.force_login(superuser)
        with django_assert_max_num_queries(20):
            assert client.get(reverse("admin:petitions_dashboard")).status_code == 200

    def test_it_counts_by_country_and_defines_the_confirmation_rate(self, client, superuser, petition):
        signatures_add(
            petition,
            (timedelta(days=3), "FR", CONFIRMED), (timedelta(days=3), "FR", CONFIRMED),
            (timedelta(days=20), "TN", CONFIRMED),
            (timedelta(days=3), "TN", PENDING),
            (timedelta(days=3), "TN", PENDING, "over the rate limit"),
            (timedelta(days=3), "TN", INVALIDATED),
            (timedelta(hours=2), "TN", PENDING), (timedelta(hours=2), "TN", PENDING),
        )
        response = dashboard(client, superuser)
        totals = response.context["totals"]
        assert (totals["confirmed"], totals["pending"], totals["held"], totals["invalidated"]) == (3, 4, 1, 1)
        # Older than a day: 3 confirmed, 1 pending; the held, the invalidated and the young are left out.
        assert (totals["rate"].confirmed, totals["rate"].pending, totals["rate"].percent) == (3, 1, 75.0)
        # Signed 1 to 8 days ago: the one from 20 days ago is left out of the recent rate.
        assert totals["recent_rate"].percent == pytest.approx(66.7)
        page = response.content.decode()
        assert "<strong>75.0%</strong> (3 confirmed of 4)" in page
        assert "Confirmation rate = confirmed ÷ (confirmed + pending)" in page

        countries = [(row.code, row.count, row.percent) for row in response.context["countries"]]
        assert countries == [("FR", 2, 66.7), ("TN", 1, 33.3)]
        assert "France (FR)" in page

    def test_it_gathers_countries_beyond_the_first_fifteen_into_one_row(self, client, superuser, petition):
        codes = ["AT", "BE", "CH", "DE", "DK", "ES", "FI", "FR", "GB", "GR", "IE", "IT", "NL", "NO", "PL", "PT", "SE"]
        signatures_add(petition, *[(timedelta(days=2), code, CONFIRMED) for code in codes])
        rows = dashboard(client, superuser).context["countries"]
        assert len(rows) == 16
        assert (rows[-1].name, rows[-1].count) == ("2 other countries", 2)

    def test_it_can_show_one_petition_among_several(self, client, superuser, petition):
        other = type(petition).objects.create(
            slug="other", title="Another petition", body="b", letter_subject="s", letter_greeting="g", letter_body="l"
        )
        signatures_add(petition, (timedelta(days=2), "FR", CONFIRMED))
        signatures_add(other, (timedelta(days=2), "FR", CONFIRMED), (timedelta(days=2), "FR", CONFIRMED))
        assert dashboard(client, superuser).context["totals"]["confirmed"] == 3
        response = dashboard(client, superuser, petition=other.pk)
        assert response.context["totals"]["confirmed"] == 2
        assert "Dashboard: Another petition" in response.content.decode()

    def test_it_shows_letters_per_recipient_with_a_bounced_recipient_held(self, client, superuser, petition):
        signatures = signatures_add(petition, *[(timedelta(days=1), "FR", PENDING)] * 4)
        for signature in signatures:
            signing.signature_confirm(public_id=signature.public_id)
        first, second = petition.targets.order_by("pk")[:2]
        letters = list(Letter.objects.filter(target=first).order_by("pk"))
        Letter.objects.filter(pk=letters[0].pk).update(state=Letter.State.SENT)
        Letter.objects.filter(pk=letters[1].pk).update(state=Letter.State.FAILED)
        Target.objects.filter(pk=second.pk).update(
            bounce_held_since=timezone.now(), bounce_reason="Mailbox does not exist"
        )

        response = dashboard(client, superuser)
        rows = {row.target.pk: row for row in response.context["recipients"]}
        assert (rows[first.pk].queued, rows[first.pk].sent, rows[first.pk].failed, rows[first.pk].held) == (2, 1, 1, 0)
        assert (rows[second.pk].queued, rows[second.pk].held) == (0, 4)
        page = response.content.decode()
        assert "Mailbox does not exist" in page
        assert "4 letter(s) are held because a recipient&#x27;s address bounced" in page
        assert "1 letter(s) failed for good" in page

    def test_it_says_the_queues_are_healthy_when_they_are(self, client, superuser, petition):
        Outbox.objects.create(kind=Outbox.Kind.CONFIRMATION_EMAIL, created_at=timezone.now() - timedelta(minutes=1))
        Outbox.objects.create(kind=Outbox.Kind.CONFIRMATION_EMAIL, state=Outbox.State.DONE)
        response = dashboard(client, superuser)
        health = response.context["health"]
        assert health.healthy, health.problems
        assert health.outbox_pending == 1
        assert isinstance(health.broker_backlog, int)  # read from the broker, which is up
        assert "Healthy: nothing has failed, nothing is stuck" in response.content.decode()

    def test_it_names_what_is_wrong_with_the_queues(self, client, superuser, petition):
        signature = signatures_add(petition, (timedelta(days=1), "FR", PENDING))[0]
        signing.signature_confirm(public_id=signature.public_id)
        Outbox.objects.all().delete()
        Outbox.objects.create(kind=Outbox.Kind.CONFIRMATION_EMAIL, created_at=timezone.now() - timedelta(hours=3))
        Outbox.objects.create(kind=Outbox.Kind.THANKS_EMAIL, state=Outbox.State.FAILED)
        Letter.objects.filter(pk=Letter.objects.order_by("pk").first().pk).update(
            state=Letter.State.SENDING, send_started_at=timezone.now() - timedelta(hours=2)
        )
        mailing = Mailing.objects.create(petition=petition, subject="Good news", body="b", state=Mailing.State.SENT)
        for number in range(3):
            MailingRecipient.objects.create(
                mailing=mailing, email=f"r{number}@example.org", email_normalized=f"r{number}@example.org",
                state=MailingRecipient.State.FAILED if number else MailingRecipient.State.SENT,
            )

        response = dashboard(client, superuser)
        assert not response.context["health"].healthy
        page = response.content.decode()
        assert "The oldest unsent email has waited 3 hours" in page
        assert "1 email(s) to signers or staff failed for good" in page
        assert "1 letter(s) have been &#x27;sending&#x27; for too long." in page
        assert "Update “Good news”: 2 recipient(s) failed." in page
        assert "Healthy" not in page

    def test_it_says_when_the_broker_cannot_be_reached(self, client, superuser, petition, settings):
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there
        response = dashboard(client, superuser)
        assert response.context["health"].broker_backlog is None
        assert "The broker (Redis) cannot be reached" in response.content.decode()

    def test_it_keeps_its_figures_for_a_minute_but_reads_the_broker_live(self, client, superuser, petition, settings):
        signatures_add(petition, (timedelta(days=2), "FR", CONFIRMED))
        first = dashboard(client, superuser)
        signatures_add(petition, (timedelta(days=2), "FR", CONFIRMED))
        settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
        second = dashboard(client, superuser)
        assert second.context["totals"]["confirmed"] == 1
        assert second.context["computed_at"] == first.context["computed_at"]
        assert "The broker (Redis) cannot be reached" in second.content.decode()
        cache.clear()  # as when the minute is up
        assert dashboard(client, superuser).context["totals"]["confirmed"] == 2

    def test_it_computes_its_figures_while_the_cache_is_down(self, client, superuser, petition, settings):
        signatures_add(petition, (timedelta(days=2), "FR", CONFIRMED))
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": "redis://127.0.0.1:9/0",
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            }
        }
        response = dashboard(client, superuser)
        assert response.status_code == 200
        assert response.context["totals"]["confirmed"] == 1


class DashboardPermissionTests:
    def test_it_sends_anyone_not_logged_in_to_the_login_page(self, client, petition):
        response = client.get(reverse("admin:petitions_dashboard"))
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]

    def test_it_opens_for_the_moderator_and_the_campaigner(self, client, moderator, campaigner, petition):
        # The moderator may view signatures; the campaigner may not, but holds a staff role.
        assert moderator.has_perm("petitions.view_signature") and not campaigner.has_perm("petitions.view_signature")
        assert dashboard(client, moderator).status_code == 200
        assert dashboard(client, campaigner).status_code == 200

    def test_it_opens_for_staff_who_may_view_signatures_without_a_role(self, client, petition):
        viewer = staff("viewer", permissions=["view_signature"])
        assert dashboard(client, viewer).status_code == 200

    def test_it_refuses_staff_without_view_signature_or_a_role(self, client, petition):
        assert dashboard(client, staff("nobody")).status_code == 403
        assert dashboard(client, staff("editor", permissions=["view_petition", "change_petition"])).status_code == 403
        other_group = staff("grouped")
        other_group.groups.add(Group.objects.create(name="Volunteers"))
        assert dashboard(client, other_group).status_code == 403

    def test_it_refuses_a_role_holder_who_is_not_staff(self, client, petition):
        former = staff("former", role="Moderator")
        get_user_model().objects.filter(pk=former.pk).update(is_staff=False)
        response = dashboard(client, former)
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
