"""Receives the ESP's tracking events and inbound mail from anymail's webhook views.

anymail authenticates the request (its shared webhook secret and, for ESPs
that sign, the signature) and parses it before sending the `tracking` or
`inbound` signal; these receivers only hand each event to the services that
act on it. Any ESP anymail supports is a settings change: its webhook URLs
under /anymail/ send the same signals.
"""

import logging
from typing import Any

from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent

from petitions.services.letter_outcomes import letter_outcome_record
from petitions.services.replies import reply_receive
from petitions.services.suppression import esp_event_record

logger = logging.getLogger(__name__)


def tracking_event_received(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    letter = letter_outcome_record(event=event)
    outcome = esp_event_record(event=event)
    logger.info("%s %s event for %s: %s; %s", esp_name, event.event_type, event.recipient, letter, outcome)


def inbound_event_received(sender: Any, event: AnymailInboundEvent, esp_name: str, **kwargs: Any) -> None:
    outcome = reply_receive(message=event.message, event_id=event.event_id, esp_name=esp_name)
    logger.info("%s inbound mail %s: %s", esp_name, event.event_id, outcome)
