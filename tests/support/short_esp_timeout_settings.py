"""The project's settings with a short ESP timeout, for worker processes in the
ESP-fault tests: a response slower than the timeout then costs seconds, not
the 15 s production allows. Everything else is the project's own settings."""

from campaign.settings import *  # noqa: F403
from campaign.settings import ANYMAIL

ESP_TIMEOUT_SECONDS = 2
ANYMAIL = ANYMAIL | {"REQUESTS_TIMEOUT": (ESP_TIMEOUT_SECONDS, ESP_TIMEOUT_SECONDS)}
