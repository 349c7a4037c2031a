"""Reads that pages, the admin, the API and services share. Nothing here writes
to the database (counts are kept in the cache, which is theirs to fill)."""
