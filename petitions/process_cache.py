"""Values a process keeps for a few seconds instead of reading them on every request.

For what every signature or page view reads and staff change rarely: the rate
limits and blocklist, the consent wordings, the petition itself, the rendered
page. Each process has its own copy; a save clears the saving process's copy
at once (petitions.apps connects the signals), and every other process reads
the change within the cache's seconds.
"""

import time


class ProcessCache:
    def __init__(self, seconds):
        """`seconds`: how long a value is kept; a number, or a function giving
        it (for a setting read at the time, which tests may change)."""
        self._seconds = seconds if callable(seconds) else (lambda: seconds)
        self._values = {}

    def get(self, key, load):
        """The value for `key`, from `load()` when missing or older than the cache's seconds.
        Nothing is kept when `load` raises."""
        now = time.monotonic()
        kept = self._values.get(key)
        if kept is None or now - kept[0] >= self._seconds():
            kept = self._values[key] = (now, load())
        return kept[1]

    def clear(self, **_signal_arguments):
        """Forget every value (takes a signal's arguments, to be connected directly)."""
        self._values.clear()
