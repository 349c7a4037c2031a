"""gunicorn's settings for the web processes.

`gunicorn campaign.wsgi`, run from this directory, reads this file; options
given on the command line override it.

- workers: WEB_CONCURRENCY (gunicorn's own variable), else 2 × cores + 1
  (gunicorn's advice; its own default is a single worker).
- sync workers, one request at a time each. Threads (gthread) were measured
  on the 2-core benchmark machine (docs/benchmarks.md): they keep HTTP
  connections alive, which made repeated requests on one connection cheaper,
  but a request arriving on a new connection, as each does from a proxy
  without upstream keep-alive and from the fixed-rate signing driver, cost
  the web process about 0.4 ms more on average (3.0–3.9 against 2.8–3.7 ms
  per signature), and the fixed-rate runs with threads fell furthest behind.
  `--threads 2` turns them on.
"""

import multiprocessing
import os

# No control socket: gunicorn 25+ opens one by default, at a path shared by
# every gunicorn of the user on the host (~/.gunicorn/gunicorn.ctl), which any
# process of that user could use to stop or resize this server.
control_socket_disable = True

workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
