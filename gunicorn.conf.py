"""gunicorn's settings for the web processes.

`gunicorn campaign.wsgi`, run from this directory, reads this file; options
given on the command line override it.

- workers: WEB_CONCURRENCY (gunicorn's own variable), else 2 × cores + 1.
- threads: 2 per worker (gunicorn then uses its gthread worker). A signature's
  request spends about as long waiting for PostgreSQL to flush its commit to
  disk as it spends computing; a sync worker sits idle meanwhile, a second
  thread serves the next request. Threads also keep HTTP connections alive,
  which sync workers never do. Measured on the 2-core benchmark machine
  (docs/benchmarks.md): the same 5 processes took 438 signatures a second
  instead of 393, and 330 a second with a p99 of 88 ms instead of 1.1 s.
"""

import multiprocessing
import os

workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
threads = 2
