"""Every write the petition domain makes, one module per domain.

Each service is named `<thing>_<verb>`, takes keyword arguments, runs in one
transaction and says in its docstring what it guarantees. Work for Celery is
recorded in the same transaction as a row (an outbox entry, a letter, a
mailing's copy) and handed over after commit through the delivery engine
(petitions.delivery), by task name; a periodic sweep hands over whatever that
missed, so nothing here depends on the broker being up.

- signing: signatures made and confirmed, the consent wordings shown
- letters: the letters to the recipients, within their hourly caps
- letter_outcomes: the ESP's word on each letter (delivered, bounced, ...), from its webhook
- replies: recipients' replies from the inbound webhook, their review, and approval to supporters
- letters: the letters to the recipients, within their hourly caps and office hours
- digests: recipients' daily digests in place of (or as well as) each letter
- supporter_mail: confirmation, thanks, reminder and already-signed emails
- mailings: campaign updates to opted-in supporters
- suppression: unsubscribes, bounces and complaints, recipients' bounce holds
- screening: blocklist, throwaway domains and rate limits that hold signatures silently
- waves: surges from many IPs sharing a domain or a made-up name pattern, held the same way
- moderation: staff decisions on signatures, comments and the blocklist
- privacy: erasure, purging, anonymisation, forgetting IP hashes
- content: the petition's texts as staff and the seed set them
- exports: the record of every export handed over
- offline: paper and offline signatures entered by staff in batches, and withdrawn whole
- handover: the hand-over pack (CSV and PDF with a hash chain) for a delivery in person
"""
