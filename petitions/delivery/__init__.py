"""Delivery: the one engine every message goes through (engine), the call to
the mail backend and how its failures are sorted (transport), and handing
work to Celery by task name (broker). See petitions/delivery/engine.py."""
