"""A recipient's office hours: letters wait outside them and are spread, with
jitter, inside them within the hourly cap, as due times in the database."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from petitions.delivery import office_hours
from petitions.models import Letter, Signature, Target
from petitions.services import letters, signing
from tests.conftest import sign
from tests.support.workload import queued_letters

pytestmark = pytest.mark.django_db


@pytest.fixture
def recipient(petition):
    """The petition's only active recipient, in Brussels."""
    petition.letter_release_minutes = 0
    petition.save()
    first, *others = petition.targets.order_by("pk")
    Target.objects.filter(pk__in=[target.pk for target in others]).update(is_active=False)
    first.time_zone = "Europe/Brussels"
    first.save()
    return first


def _local(target, moment):
    return moment.astimezone(target.zone)


def _open_now_for(target, *, minutes_left):
    """Office hours that opened an hour ago and close `minutes_left` from now."""
    now = timezone.now()
    target.window_start = _local(target, now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    target.window_end = _local(target, now + timedelta(minutes=minutes_left)).time().replace(second=0, microsecond=0)
    target.save()


class OfficeHoursTests:
    def test_it_holds_letters_outside_office_hours_and_gives_them_the_next_opening(
        self, client, fake_esp, petition, signer, recipient
    ):
        today = timezone.now().astimezone(recipient.zone).weekday()
        recipient.sending_weekdays = "".join(str(day) for day in range(7) if day != today)
        recipient.window_start, recipient.window_end = time(8, 0), time(18, 0)
        recipient.save()
        sign(client, petition, signer)
        signing.signature_confirm(public_id=Signature.objects.get().public_id)
        [letter] = Letter.objects.filter(target=recipient)
        assert letter.enqueued_at is None  # not handed to the broker at once, though due at once

        # Even a task that reaches a worker now sends nothing to a closed office.
        assert letters.letters_send(letter_ids=[letter.pk]) == {}
        assert letters.letters_dispatch() == 0
        assert fake_esp.messages == []
        letter.refresh_from_db()
        assert letter.state == Letter.State.QUEUED
        tomorrow = timezone.now().astimezone(recipient.zone).date() + timedelta(days=1)
        opening = datetime.combine(tomorrow, time(8, 0), tzinfo=recipient.zone)
        assert opening <= letter.slot_at == letter.next_attempt_at < opening + timedelta(seconds=30)
        assert office_hours.is_open(recipient, letter.slot_at)

    def test_it_spreads_letters_one_per_cap_interval_with_jitter(self, petition, recipient):
        recipient.hourly_cap = 60  # one a minute
        recipient.save()
        _open_now_for(recipient, minutes_left=120)
        queued_letters(petition, 10)
        now = timezone.now()
        letters.letters_dispatch(now=now)
        slots = sorted(Letter.objects.values_list("slot_at", flat=True))
        assert len(slots) == 10
        offsets = [(slot - now).total_seconds() for slot in slots]
        # The i-th letter falls somewhere in the i-th minute from now, not at its start.
        assert all(60 * index <= offset < 60 * (index + 1) for index, offset in enumerate(offsets)), offsets
        assert len({round(offset % 60, 3) for offset in offsets}) > 1
        assert list(Letter.objects.values_list("next_attempt_at", flat=True).order_by("next_attempt_at")) == slots
        # Five minutes on, the five letters whose times have come are handed over, and no more.
        assert letters.letters_dispatch(now=now + timedelta(minutes=5)) == 5

    def test_the_spread_keeps_to_the_hourly_cap_and_to_office_hours(self, petition, recipient):
        recipient.hourly_cap = 4  # one each quarter of an hour
        recipient.save()
        _open_now_for(recipient, minutes_left=40)
        queued_letters(petition, 10)
        now = timezone.now()
        # Each run of the dispatcher gives times to an hour's cap of letters, after the last given.
        for run in range(3):
            letters.letters_dispatch(now=now)
            assert Letter.objects.filter(slot_at__isnull=False).count() == min(10, 4 * (run + 1))
        slots = sorted(Letter.objects.values_list("slot_at", flat=True))
        assert all(office_hours.is_open(recipient, slot) for slot in slots)
        # Two quarters fit before closing time, 40 minutes from now; the rest
        # start when the office opens again, 23 hours later.
        assert len([slot for slot in slots if slot < now + timedelta(hours=1)]) == 2
        assert all(slot > now + timedelta(hours=22) for slot in slots[2:])
        for slot in slots:
            in_the_hour = [other for other in slots if slot <= other < slot + timedelta(hours=1)]
            # One per interval: an hour from any letter holds the cap, or one more
            # at the edge, which the claim's cap check holds back.
            assert len(in_the_hour) <= recipient.hourly_cap + 1

    def test_office_hours_follow_the_recipients_clock_across_daylight_saving(self, recipient):
        recipient.time_zone = "America/New_York"
        recipient.sending_weekdays = "01234"  # Monday to Friday
        recipient.window_start, recipient.window_end = time(9, 0), time(17, 0)
        # 13:30 UTC is 08:30 in New York in winter (EST), 09:30 in summer (EDT).
        assert not office_hours.is_open(recipient, datetime(2026, 3, 6, 13, 30, tzinfo=UTC))  # Friday, EST
        assert office_hours.is_open(recipient, datetime(2026, 3, 9, 13, 30, tzinfo=UTC))  # Monday, EDT
        # Saturday: closed; the next window opens on Monday at 09:00 New York time.
        start, end = office_hours.window_at_or_after(recipient, datetime(2026, 3, 7, 15, 0, tzinfo=UTC))
        assert (start, end) == (
            datetime(2026, 3, 9, 9, 0, tzinfo=recipient.zone), datetime(2026, 3, 9, 17, 0, tzinfo=recipient.zone)
        )

    def test_an_overnight_window_runs_into_the_next_day(self, recipient):
        recipient.window_start, recipient.window_end = time(22, 0), time(6, 0)
        brussels = recipient.zone
        assert office_hours.is_open(recipient, datetime(2026, 12, 2, 23, 0, tzinfo=brussels))
        assert office_hours.is_open(recipient, datetime(2026, 12, 3, 5, 59, tzinfo=brussels))
        assert not office_hours.is_open(recipient, datetime(2026, 12, 3, 12, 0, tzinfo=brussels))
