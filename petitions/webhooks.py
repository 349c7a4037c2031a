"""Receives the ESP's tracking events from anymail's webhook view.

anymail authenticates the request (its shared webhook secret and, for ESPs
that sign, the signature) and parses it before sending the `tracking` signal;
this receiver only hands each event to the service that acts on it.
"""

import logging
from typing import Any

from anymail.signals import AnymailTrackingEvent

from petitions.services.suppression import esp_event_record

logger = logging.getLogger(__name__)


def tracking_event_received(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    outcome = esp_event_record(event=event)
    logger.info("%s %s event for %s: %s", esp_name, event.event_type, event.recipient, outcome)
