"""Celery tasks: thin wrappers that take ids and call a service.

Every task is idempotent (running one twice sends nothing twice), because with
late acknowledgement a task whose worker died is run again. Services hand
work over by these tasks' names (petitions.delivery.broker), never by
importing this module.
"""

from celery import shared_task

from petitions.selectors import counts
from petitions.services import content, digests, handover, letters, mailings, privacy, supporter_mail


@shared_task
def outbox_drain(slot: int = 0) -> int:
    return supporter_mail.outbox_drain(slot=slot)


# Messages queued before the outbox was drained in batches still name this task.
@shared_task
def outbox_deliver(outbox_id: int) -> str | None:
    return supporter_mail.outbox_deliver(outbox_id=outbox_id)


@shared_task
def outbox_republish() -> int:
    return supporter_mail.outbox_republish()


@shared_task
def letters_send(letter_ids: list[int]) -> dict[int, str]:
    return letters.letters_send(letter_ids=letter_ids)


# Messages queued before letters were sent in batches still name this task.
@shared_task
def letter_send(letter_id: int) -> str | None:
    return letters.letter_send(letter_id=letter_id)


@shared_task
def letters_dispatch() -> int:
    return letters.letters_dispatch()


@shared_task
def counts_reconcile() -> int:
    return len(counts.counts_reconcile())


@shared_task
def mailing_send(mailing_id: int) -> int:
    return mailings.mailing_send(mailing_id=mailing_id)


@shared_task
def mailings_resume() -> int:
    return mailings.mailings_resume()


@shared_task
def reminders_queue() -> int:
    return supporter_mail.reminders_queue()


@shared_task
def privacy_housekeeping() -> dict[str, int]:
    return privacy.privacy_housekeeping()


@shared_task
def handover_pack_build(pack_id: int) -> int | None:
    return handover.handover_pack_build(pack_id=pack_id).signature_count


@shared_task
def digests_dispatch() -> int:
    return digests.digests_dispatch()


@shared_task
def digests_send(digest_ids: list[int]) -> dict[int, str]:
    return digests.digests_send(digest_ids=digest_ids)


@shared_task
def petitions_close_due() -> int:
    return content.petitions_close_due()
