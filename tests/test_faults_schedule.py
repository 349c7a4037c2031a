"""No task is scheduled further ahead than the broker's visibility timeout.

Redis hands an unacknowledged task to another worker once the visibility
timeout has passed, so a task with a later ETA (held by a worker until then)
would run twice, and one lost with Redis would be lost silently. Waits are
therefore recorded in the database (`next_attempt_at`) and a periodic task
picks up what is due. Checked three ways: the code has no ETA or countdown
that could exceed the timeout; every publishing path, driven through an
hour-long back-off, publishes only "run now" tasks; and (in the Redis-wipe
fault tests) the messages real workers and beat leave in Redis carry no ETA.
"""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from celery.signals import before_task_publish
from django.conf import settings
from django.utils import timezone

from petitions.models import Letter, Outbox, Signature
from petitions.services import letters as letter_service
from petitions.services import signing, supporter_mail
from tests.conftest import sign

ROOT = Path(__file__).resolve().parent.parent
PROJECT_CODE = ["campaign", "petitions"]
SCHEDULING_KEYWORDS = {"eta", "countdown", "default_retry_delay", "retry_backoff_max"}


def _scheduling_in_code():
    """Every call in the project's code passing an ETA, a countdown or a retry delay."""
    found = []
    for directory in PROJECT_CODE:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Call):
                    for keyword in node.keywords:
                        if keyword.arg in SCHEDULING_KEYWORDS:
                            found.append((f"{path.relative_to(ROOT)}:{node.lineno}", keyword.arg, keyword.value))
    return found


class TaskScheduleTests:
    def test_the_code_schedules_nothing_beyond_the_visibility_timeout(self):
        visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
        too_far_or_unknown = [
            (where, name)
            for where, name, value in _scheduling_in_code()
            # A countdown or delay is fine if it is a number within the timeout;
            # an ETA, or anything computed, cannot be checked and is refused.
            if not (name != "eta" and isinstance(value, ast.Constant) and isinstance(value.value, (int, float))
                    and value.value < visibility)
        ]
        assert too_far_or_unknown == [], "schedule from the database instead of an ETA or countdown"

    def test_a_task_runs_out_its_time_limit_well_within_the_visibility_timeout(self):
        visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
        assert settings.CELERY_BROKER_VISIBILITY_TIMEOUT == visibility
        assert settings.CELERY_TASK_TIME_LIMIT < visibility / 2
        assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT

    @pytest.mark.django_db
    def test_every_publishing_path_publishes_tasks_to_run_now_even_through_an_hour_of_back_off(
        self, client, petition, signer, fake_esp, django_capture_on_commit_callbacks, fault_report
    ):
        published = []

        def record(sender=None, headers=None, **kwargs):
            published.append((sender, (headers or {}).get("eta"), (headers or {}).get("countdown")))

        before_task_publish.connect(record, weak=False)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                sign(client, petition, signer)
            entry = Outbox.objects.get()
            # An ESP asking us to come back in two hours: the wait goes in the database.
            fake_esp.fail_next(1, 429, retry_after=2 * 3600)
            supporter_mail.outbox_deliver(outbox_id=entry.pk)
            entry.refresh_from_db()
            assert entry.next_attempt_at > timezone.now() + timedelta(minutes=59)
            later = timezone.now() + timedelta(hours=2)
            assert supporter_mail.outbox_republish(now=later) == 1

            with django_capture_on_commit_callbacks(execute=True):
                signing.signature_confirm(public_id=Signature.objects.get().public_id)
            letters = list(Letter.objects.values_list("pk", flat=True))
            fake_esp.fail_next(len(letters), 429, retry_after=2 * 3600)
            for letter_id in letters:
                letter_service.letter_send(letter_id=letter_id)
            assert all(
                letter.next_attempt_at > timezone.now() + timedelta(minutes=59) for letter in Letter.objects.all()
            )
            assert letter_service.letters_dispatch(now=later) == len(letters)

            fake_esp.reject_address("prime-minister@libya-government.example")
            for letter_id in letters:
                Letter.objects.filter(pk=letter_id).update(next_attempt_at=timezone.now())
                letter_service.letter_send(letter_id=letter_id)
            with django_capture_on_commit_callbacks(execute=True):
                assert letter_service.letters_retry(letter_ids=letters) == 1
        finally:
            before_task_publish.disconnect(record)

        tasks = {name for name, _, _ in published}
        scheduled = [(name, eta, countdown) for name, eta, countdown in published if eta or countdown]
        fault_report.add(
            "task-schedule",
            publishes=len(published),
            tasks=",".join(sorted(name.rsplit(".", 1)[-1] for name in tasks)),
            with_eta_or_countdown=len(scheduled),
            visibility_timeout=f"{settings.CELERY_BROKER_VISIBILITY_TIMEOUT}s",
        )
        assert tasks == {"petitions.tasks.outbox_drain", "petitions.tasks.letters_send"}
        assert scheduled == []
