"""Receives the ESP's tracking events from anymail's webhook view.

anymail authenticates the request (its shared webhook secret and, for ESPs
that sign, the signature) and parses it before sending the `tracking` signal;
this receiver only hands each event to the service that acts on it.
"""

import logging

from petitions.supporters import esp_event_record

logger = logging.getLogger(__name__)


def tracking_event_received(sender, event, esp_name, **kwargs):
    outcome = esp_event_record(event=event)
    logger.info("%s %s event for %s: %s", esp_name, event.event_type, event.recipient, outcome)
