"""Celery tasks: thin wrappers that take ids and call a service.

Every task is idempotent (running one twice sends nothing twice), because with
late acknowledgement a task whose worker died is run again.
"""

from celery import shared_task

from petitions import counts, mailings, outbox, privacy, services, supporters


@shared_task
def outbox_drain(slot=0):
    return outbox.outbox_drain(slot=slot)


# Messages queued before the outbox was drained in batches still name this task.
@shared_task
def outbox_deliver(outbox_id):
    return outbox.outbox_deliver(outbox_id=outbox_id)


@shared_task
def outbox_republish():
    return outbox.outbox_republish()


@shared_task
def letters_send(letter_ids):
    return services.letters_send(letter_ids=letter_ids)


# Messages queued before letters were sent in batches still name this task.
@shared_task
def letter_send(letter_id):
    return services.letter_send(letter_id=letter_id)


@shared_task
def letters_dispatch():
    return services.letters_dispatch()


@shared_task
def counts_reconcile():
    return len(counts.counts_reconcile())


@shared_task
def mailing_send(mailing_id):
    return mailings.mailing_send(mailing_id=mailing_id)


@shared_task
def mailings_resume():
    return mailings.mailings_resume()


@shared_task
def reminders_queue():
    return supporters.reminders_queue()


@shared_task
def privacy_housekeeping():
    return privacy.privacy_housekeeping()
