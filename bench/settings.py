"""The project's settings, unchanged but for the URLconf.

The benchmark needs a trivial view served by the very same server processes
as the real pages, so that each figure has a baseline measured under the same
conditions. That view is not part of the app's URLs; it is added here, in a
module only the benchmark loads.
"""

from campaign.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.baseline_urls"
