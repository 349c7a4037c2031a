"""The project's Celery app plus a no-op task, for the letters baseline.

`celery -A bench.celery_app worker` runs the project's own tasks exactly as
`celery -A campaign worker` does, and also `bench.noop`, so the same worker
process measures both what a letter costs and what Celery's own round trip
(broker, prefork pool, late acknowledgement) costs.
"""

from campaign.celery import app

__all__ = ["app", "noop"]


@app.task(name="bench.noop")
def noop():
    return None
