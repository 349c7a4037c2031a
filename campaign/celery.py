import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")

app = Celery("campaign")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@beat_init.connect
def _beat_schedule_directory_create(sender: object, **kwargs: Any) -> None:
    # Beat keeps its schedule in a file; on a fresh host its directory may not
    # exist yet, and beat would stop at start-up without it.
    Path(app.conf.beat_schedule_filename).parent.mkdir(parents=True, exist_ok=True)
