"""The open, read-only API under /api/v1/ (django-ninja): public data only."""
