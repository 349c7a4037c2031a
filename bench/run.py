"""The load benchmark: `make bench` (full run) or `.venv/bin/python bench/run.py --quick`.

It starts the production setup on loopback, in a database of its own, and
measures what issue 6 ("Speed at scale") asks, each figure next to a baseline
measured in the same run on the same processes:

- signing and confirming: POSTs per second (wrk, maximum rate) against a
  trivial Django view served by the same gunicorn; and signing at a fixed
  330 a second for 60 seconds (bench/pace.py), with p50/p99 latency; and, as
  a reference, a view that only commits one signature row per POST (the floor
  of any design that writes each signature before answering);
- the petition page: GETs per second against the same trivial view;
- the open API's petition read: GETs per second against the same trivial view;
- letters: queued letters drained per second through anymail to the fake ESP,
  against a no-op Celery task on the same worker;
- a campaign update mailing to 100,000 supporters: seconds to drain;
- with a million signatures: the admin's signature list, the CSV export, and
  the count reconciliation;
- the hand-over pack of a million signatures (bench/handover.py): seconds
  and peak memory, against the same rows written as a plain CSV.

Everything it starts, it stops (by process group, which it created) on the
way out, also after a failure or Ctrl-C. Results go to bench/results/ as
Markdown (the table, the machine, the command) and JSON (every raw figure).
See docs/benchmarks.md.
"""

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# `make bench` runs this file as a script; the project and bench/ are packages.
sys.path.insert(0, str(ROOT))

from bench.handover import HandoverPhase  # noqa: E402
from bench.million import MillionPhases  # noqa: E402
from bench.processes import Processes, cpu_add, cpu_cores, cpu_snapshot, cpu_used, free_port, wait_http  # noqa: E402
from bench.report import Row, Run, fmt, machine_describe, report_print, results_write, verdict  # noqa: E402

SLUG = "libya-detention"
# The languages the petition page and the sign form are measured in.
LANGUAGES = ["en", "fr", "ar"]
MAILING_SLUG = "bench-mailing"
SECRET_KEY = "bench-only-secret-key-never-used-anywhere-else-0123456789"
ESP_API_KEY = "bench-key"
# Celery's Redis transport keeps a queue's messages in a list named after the
# queue, plus one list per priority step, and unacknowledged ones in a hash.
QUEUE_KEYS = ["celery", "celery\x06\x163", "celery\x06\x166", "celery\x06\x169"]
UNACKED_KEY = "unacked"


@dataclass(frozen=True)
class Profile:
    name: str
    load_seconds: int  # each wrk phase
    sustained_seconds: int  # signing at a fixed rate
    rows: int  # signatures loaded for the "million" figures
    letters: int
    mailing_recipients: int
    admin_requests: int
    drain_timeout: int  # longest wait for a queue to empty
    rounds: int  # alternating slices of each wrk baseline and figure


PROFILES = {
    "quick": Profile("quick", 10, 10, 100_000, 2_000, 10_000, 10, 90, 2),
    "full": Profile("full", 30, 60, 1_000_000, 5_000, 100_000, 25, 300, 3),
}


# The benchmark ---------------------------------------------------------------------------------


class Bench(MillionPhases, HandoverPhase):
    petition_slug = SLUG

    def __init__(self, args, profile, processes, scratch):
        self.args = args
        self.profile = profile
        self.processes = processes
        self.scratch = scratch
        self.web_port = args.port or free_port()
        self.esp_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.database_url = f"{args.postgres.rstrip('/')}/{args.database}"
        self.redis_url = f"{args.redis.rstrip('/')}"
        cores = os.cpu_count() or 1
        self.web_workers = args.web_workers or 2 * cores + 1
        # As production runs it (gunicorn.conf.py): sync workers, one thread each.
        self.web_threads = args.web_threads or 1
        self.worker_concurrency = args.worker_concurrency or cores
        self.connections = args.connections or 2 * self.web_workers
        self.run = Run(profile=profile, args=vars(args), started_at=datetime.now(UTC).isoformat())
        self.csrf_pool = scratch / "csrf-pool.tsv"
        self.ip_octet = 0
        self.env = self._environment()

    # Setup ---------------------------------------------------------------------------------

    def _environment(self):
        """The production settings, from the environment as in production, plus
        the URLconf with the baseline view (bench.settings)."""
        kept = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
        keep = {name: os.environ[name] for name in kept if name in os.environ}
        return keep | {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "SECRET_KEY": SECRET_KEY,
            "DEBUG": "0",
            "SITE_URL": self.base_url,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "EMAIL_BACKEND": "campaign.email_backends.ResendEmailBackend",
            "ANYMAIL_RESEND_API_KEY": ESP_API_KEY,
            "ANYMAIL_RESEND_API_URL": f"http://127.0.0.1:{self.esp_port}/",
            "VAR_DIR": str(self.scratch / "var"),
            "CELERY_BEAT_SCHEDULE_FILENAME": str(self.scratch / "beat-schedule"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            # As behind the TLS proxy of a production setup: the load tools give
            # every signer an address of their own in X-Forwarded-For, so that
            # the per-IP rate limits see a crowd rather than one machine.
            "TRUSTED_PROXY_COUNT": "1",
            # The API's per-client limit still runs (its Redis round trips are
            # measured), but the load tool's one address is never refused.
            "API_RATE_LIMIT": "1000000/s",
        }

    def check_tools(self):
        if shutil.which("wrk") is None:
            raise SystemExit("wrk is not installed. On Debian or Ubuntu: sudo apt-get install -y wrk")
        import psycopg
        import redis

        try:
            psycopg.connect(f"{self.args.postgres.rstrip('/')}/postgres", connect_timeout=3).close()
        except psycopg.Error as error:
            raise SystemExit(f"PostgreSQL is not reachable at {self.args.postgres}: {error}") from None
        try:
            redis.Redis.from_url(self.redis_url, socket_timeout=3).ping()
        except redis.RedisError as error:
            raise SystemExit(f"Redis is not reachable at {self.redis_url}: {error}") from None

    def database_create(self):
        import psycopg

        with psycopg.connect(f"{self.args.postgres.rstrip('/')}/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.args.database}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.args.database}"')

    def redis_flush(self):
        import redis

        # Only the benchmark's own database number, never the whole server.
        redis.Redis.from_url(self.redis_url).flushdb()

    def manage(self, *arguments):
        subprocess.run(
            [sys.executable, "manage.py", *arguments], cwd=ROOT, env=self.env, check=True,
            stdout=subprocess.DEVNULL,
        )

    def django_setup(self):
        os.environ.update(self.env)
        import django

        django.setup()

    def data_load(self):
        from bench.generate import signatures_generate
        from petitions.models import Petition, Target
        from petitions.services.signing import consent_wordings_current

        # The default cap of 120 letters an hour per recipient would make the
        # letters figure 240 an hour by design; staff raise it in the admin,
        # and so does the benchmark, to measure what the machinery can do.
        Target.objects.update(hourly_cap=10_000_000)
        petition = Petition.objects.get(slug=SLUG)
        consents = consent_wordings_current()
        rows = self.profile.rows
        seconds = signatures_generate(
            count=rows, petition=petition, consents=consents, seed=1,
            progress=lambda done: print(f"\r  {done:,} signatures", end="", flush=True),
        )
        print()
        self.run.raw["generate"] = {"rows": rows, "seconds": round(seconds, 2)}
        self.run.rows.append(Row(
            f"Data generator: {rows:,} signatures (COPY, outside the timed parts)",
            f"{seconds:.1f} s", note=f"{rows / seconds:,.0f} rows/s, indexes and constraints built once afterwards",
        ))
        if self._mailings_available():
            # The update mailing goes to a petition of its own whose confirmed,
            # opted-in supporters are exactly the audience size wanted.
            mailing_petition = Petition.objects.get(slug=SLUG)
            mailing_petition.pk = None
            mailing_petition._state.adding = True
            mailing_petition.slug = MAILING_SLUG
            mailing_petition.is_open = False  # Not counted, not reminded, not signable.
            mailing_petition.save()
            seconds = signatures_generate(
                count=self.profile.mailing_recipients, petition=mailing_petition, consents=consents, seed=2,
                confirmed_share=1.0, updates_share=1.0,
            )
            self.run.raw["generate_mailing_audience"] = {
                "rows": self.profile.mailing_recipients, "seconds": round(seconds, 2),
            }

    @staticmethod
    def _mailings_available():
        try:
            from petitions.services import mailings
        except ImportError:
            return False
        return hasattr(mailings, "mailing_start")

    def services_start(self):
        python = sys.executable
        esp = self.processes.start(
            "fake-esp",
            [python, "-m", "tests.support.fake_esp", "--port", str(self.esp_port), "--api-key", ESP_API_KEY],
            self.env,
        )
        web = self.processes.start(
            "gunicorn",
            [python, "-m", "gunicorn", "campaign.wsgi", "--bind", f"127.0.0.1:{self.web_port}",
             "--workers", str(self.web_workers)]
            + ["--config", str(ROOT / "gunicorn.conf.py"), "--threads", str(self.web_threads)],
            self.env,
        )
        # --worker-nice runs the worker at a lower CPU priority (a deployment
        # choice, not the README's default): emails then wait while requests run.
        nice = ["nice", "-n", str(self.args.worker_nice)] if self.args.worker_nice else []
        self.processes.start(
            "worker",
            nice + [python, "-m", "celery", "-A", "bench.celery_app", "worker",
                    f"--concurrency={self.worker_concurrency}", "--hostname", f"bench-{os.getpid()}@%h"],
            self.env,
        )
        self.processes.start(
            "beat",
            [python, "-m", "celery", "-A", "campaign", "beat", "--schedule", str(self.scratch / "beat-schedule")],
            self.env,
        )
        wait_http(f"http://127.0.0.1:{self.esp_port}/_stats", 30, esp)
        wait_http(f"{self.base_url}/_bench/trivial/", 60, web)
        self._worker_wait_ready()
        self.run.config.update(
            web_workers=self.web_workers, web_threads=self.web_threads, worker_concurrency=self.worker_concurrency,
            worker_nice=self.args.worker_nice,
            wrk_threads=self.args.threads, wrk_connections=self.connections, web_port=self.web_port,
        )

    def _worker_wait_ready(self, timeout=60):
        from campaign.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if app.control.ping(timeout=1.0):
                return
        raise RuntimeError("the Celery worker did not answer a ping within 60 s; see its log")

    def csrf_pool_fetch(self, size=32):
        """(cookie, token) pairs as a browser gets them with a page holding a
        CSRF-protected form (the confirm button's; the staff login page is one
        any run can fetch, and a pair is valid for any form)."""
        lines = []
        for _ in range(size):
            with urllib.request.urlopen(f"{self.base_url}/staff/login/", timeout=10) as response:
                cookie = re.search(r"csrftoken=([^;]+)", response.headers.get("Set-Cookie", ""))
                token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.read())
            if cookie is None or token is None:
                raise RuntimeError("The staff login page came without a CSRF cookie and token.")
            lines.append(f"{cookie.group(1)}\t{token.group(1).decode()}")
        self.csrf_pool.write_text("\n".join(lines) + "\n")

    # Load tools -------------------------------------------------------------------------------

    def wrk(self, name, path, *, seconds, script="get.lua", env=None):
        """One wrk run at the maximum rate; its summary, with the CPU each component used."""
        argv = [
            "wrk", f"-t{self.args.threads}", f"-c{self.connections}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(BENCH / "lua" / script), f"{self.base_url}{path}", "--", str(self.args.threads),
        ]
        before = cpu_snapshot(self.processes)
        output = self.processes.run(f"wrk-{name}", argv, self.env | (env or {}), timeout=seconds + 60)
        result = json.loads(output.split("BENCH-JSON ", 1)[1].splitlines()[0])
        result["cpu_seconds"] = cpu_used(before, cpu_snapshot(self.processes))
        result["command"] = shlex.join(argv)
        return result

    def wrk_alternating(self, runs, *, settle=None):
        """Measure a baseline and its figures in alternating slices (A B, B A, A B, ...).

        The machine is shared and its load changes by the minute. Slices of a
        few seconds, alternated, expose both to the same conditions, so their
        ratio holds even when the absolute rates do not. `runs` is
        (name, path, script, environment) tuples, the baseline first; `settle`,
        if given, runs before every slice (to let the worker catch up).
        """
        rounds = self.profile.rounds
        seconds = max(3, round(self.profile.load_seconds / rounds))
        slices: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in runs}
        for index in range(rounds):
            for name, path, script, env in runs if index % 2 == 0 else reversed(runs):
                if settle:
                    settle()
                # Addresses of another /8 for each run, so no address signs twice in an hour.
                self.ip_octet = self.ip_octet % 200 + 1
                env = (env or {}) | {"BENCH_IP_OCTET": str(self.ip_octet)}
                if "BENCH_TAG" in env:  # New signers in every slice: wrk numbers them from 0 each time.
                    env["BENCH_TAG"] = f"{env['BENCH_TAG']}-{index + 1}"
                slices[name].append(self.wrk(f"{name}-{index + 1}", path, seconds=seconds, script=script, env=env))
        merged = [self._merge(name, slices[name]) for name, *_ in runs]
        for result in merged:
            print(f"  {result['name']}: {result['rate']:,.0f}/s, p50 {result['p50_ms']:.1f} ms, "
                  f"p99 {result['p99_ms']:.1f} ms, errors {result['errors']}, "
                  f"web CPU {result['cpu_ms_per_request'].get('gunicorn', 0):.2f} ms/request")
        baseline = merged[0]
        if baseline["errors"]:
            # An error answer is cheap, so a baseline made of them is no baseline.
            self.run.failures.append(f"{baseline['name']}: {baseline['errors']:,} of {baseline['requests']:,} answers "
                                     "were errors (status >= 400 or socket): its rate is not a baseline")
        return merged

    def _merge(self, name, slices):
        requests = sum(part["requests"] for part in slices)
        seconds = sum(part["duration_us"] for part in slices) / 1e6
        cpu: dict[str, float] = {}
        for part in slices:
            cpu = cpu_add(cpu, part["cpu_seconds"])
        result = {
            "name": name,
            "requests": requests,
            "seconds": round(seconds, 2),
            "rate": requests / seconds,
            "errors": sum(part[key] for part in slices for key in part if key.startswith("errors_")),
            # Percentiles cannot be merged exactly: the median of the slices'
            # medians, and the worst of their 99th percentiles.
            "p50_ms": statistics.median(part["latency_p50_us"] for part in slices) / 1000,
            "p99_ms": max(part["latency_p99_us"] for part in slices) / 1000,
            "slice_rates": [round(part["requests"] / (part["duration_us"] / 1e6)) for part in slices],
            "cpu_ms_per_request": {
                component: round(cpu.get(component, 0) * 1000 / requests, 2) if requests else None
                for component in ("gunicorn", "worker", "postgres", "redis", "fake-esp")
            },
            "tokens_reused": sum(part.get("tokens_reused", 0) for part in slices),
            "slices": slices,
        }
        self.run.raw[name] = result
        self.run.cpu[name] = cpu_cores(cpu)
        return result

    def queue_depth(self):
        import redis

        client = redis.Redis.from_url(self.redis_url)
        return sum(client.llen(key) for key in QUEUE_KEYS) + client.hlen(UNACKED_KEY)

    def queue_wait_empty(self, timeout):
        """Seconds until the Celery queue is empty, or None after `timeout`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.queue_depth() == 0:
                return time.monotonic() - started
            time.sleep(0.25)
        return None

    def queue_settle(self, phase):
        """Let the worker finish earlier phases' work, so a phase starts quiet."""
        waited = self.queue_wait_empty(self.profile.drain_timeout)
        if waited is None:
            from campaign.celery import app

            depth = self.queue_depth()
            app.control.purge()
            self.run.failures.append(f"{phase}: the queue still held {depth} tasks after "
                                     f"{self.profile.drain_timeout} s and was purged")

    def esp_accepted(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.esp_port}/_stats", timeout=10) as response:
            return json.load(response)["accepted"]

    # Phases ----------------------------------------------------------------------------------

    def _settle_quick(self):
        self.queue_wait_empty(self.profile.drain_timeout)

    def phase_page(self):
        print("Petition page, in each language")
        self.queue_settle("page")
        base, *pages = self.wrk_alternating([
            ("trivial-get", "/_bench/trivial/", "get.lua", None),
            *[(f"page-get-{language}", f"/{language}/p/{SLUG}/", "get.lua", None) for language in LANGUAGES],
        ])
        for language, page in zip(LANGUAGES, pages, strict=True):
            ratio = page["rate"] / base["rate"]
            self.run.rows.append(Row(
                f"Petition page ({language}), GET/s", fmt(page["rate"]), f"{fmt(base['rate'])} (trivial view)",
                f"{ratio:.0%}", "≥ 90% of trivial", verdict(ratio >= 0.9 and page["errors"] == 0),
                f"p50 {page['p50_ms']:.1f} ms, p99 {page['p99_ms']:.1f} ms, errors {page['errors']}; web CPU "
                f"{page['cpu_ms_per_request']['gunicorn']:.2f} ms a page against "
                f"{base['cpu_ms_per_request']['gunicorn']:.2f} ms for the trivial view",
            ))

    def phase_api(self):
        """The open API's petition read (/api/v1/petitions/<slug>): answered
        from each process's copy, through the per-client rate limit (kept in
        Redis, set high enough here that no answer is a 429)."""
        from django.urls import reverse

        print("Open API")
        self.queue_settle("api")
        base, api = self.wrk_alternating([
            ("trivial-get", "/_bench/trivial/", "get.lua", None),
            ("api-get", reverse("api-v1:petition_read", args=[SLUG]), "get.lua", None),
        ])
        ratio = api["rate"] / base["rate"]
        self.run.rows.append(Row(
            "Open API, one petition, GET/s", fmt(api["rate"]), f"{fmt(base['rate'])} (trivial view)", f"{ratio:.0%}",
            "reported", verdict(api["errors"] == 0),
            f"p50 {api['p50_ms']:.1f} ms, p99 {api['p99_ms']:.1f} ms, errors {api['errors']}; web CPU "
            f"{api['cpu_ms_per_request']['gunicorn']:.2f} ms an answer against "
            f"{base['cpu_ms_per_request']['gunicorn']:.2f} ms for the trivial view; rate limit and CORS included",
        ))

    def phase_sign(self):
        print("Signing, in each language")
        self.queue_settle("sign")
        tag = f"s{int(time.time())}"
        sign_env = {"BENCH_MODE": "sign", "BENCH_CSRF_POOL": str(self.csrf_pool), "BENCH_TAG": tag,
                    "BENCH_ORIGIN": self.base_url}
        esp_before = self.esp_accepted()
        # Each slice starts with the confirmation emails of the one before sent,
        # so the baseline never runs beside a busy worker.
        base, *signs, floor = self.wrk_alternating([
            ("trivial-post-sign", "/", "form.lua",
             sign_env | {"BENCH_PATH": "/_bench/trivial-form/", "BENCH_TAG": tag + "t"}),
            *[
                (f"sign-post-{language}", "/", "form.lua",
                 sign_env | {"BENCH_PATH": f"/{language}/p/{SLUG}/sign/", "BENCH_TAG": f"{tag}{language}"})
                for language in LANGUAGES
            ],
            ("durable-write-post", "/", "form.lua",
             sign_env | {"BENCH_PATH": "/_bench/durable-write/", "BENCH_TAG": tag + "d"}),
        ], settle=self._settle_quick)
        drained = self.queue_wait_empty(self.profile.drain_timeout) is not None
        # The slices alternate, so the emails are counted for all languages together.
        emails_sent = self.esp_accepted() - esp_before
        for language, sign in zip(LANGUAGES, signs, strict=True):
            self._sign_row(base, sign, prefix=f"{tag}{language}-", language=language, drained=drained,
                           emails_sent=emails_sent)
        self._durable_write_row(base, floor, f"{tag}d-")
        self._phase_sign_sustained()

    def _sign_row(self, base, sign, *, prefix, language, drained, emails_sent):
        from petitions.models import Signature

        created = Signature.objects.filter(email_normalized__startswith=prefix).count()
        held = self._held(prefix)
        sign.update(signatures_created=created, signatures_held=held, emails_sent=emails_sent, queue_drained=drained)
        if held:
            self.run.failures.append(f"sign ({language}): {held:,} of {created:,} signatures were held for review "
                                     "(rate limits or blocklist), so they sent no email: the figure is not the "
                                     "normal path's")
        ratio = sign["rate"] / base["rate"]
        cpu = sign["cpu_ms_per_request"]
        self.run.rows.append(Row(
            f"Signing ({language}), POST/s at the maximum rate (new signer, cross-origin check, pending signature "
            "+ confirmation email)",
            fmt(sign["rate"]), f"{fmt(base['rate'])} (trivial view, same POST)", f"{ratio:.0%}",
            "≥ 40% of trivial", verdict(ratio >= 0.4 and sign["errors"] == 0),
            f"p50 {sign['p50_ms']:.1f} ms, p99 {sign['p99_ms']:.1f} ms, errors {sign['errors']}; "
            f"{created:,} signatures created for {sign['requests']:,} answers, {sign['emails_sent']:,} confirmation "
            f"emails sent in all languages; CPU per signature: web {cpu['gunicorn']:.1f} ms (trivial "
            f"{base['cpu_ms_per_request']['gunicorn']:.2f} ms), worker {cpu['worker']:.1f} ms, PostgreSQL "
            f"{cpu['postgres']:.1f} ms",
        ))

    def _durable_write_row(self, base, floor, prefix):
        """The reference row: one committed INSERT per request, the floor of any
        design that writes each signature before answering (bench/baseline_urls.py)."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM petitions_signature WHERE email_normalized LIKE %s", [prefix + "%"])
            floor["rows_written_and_deleted"] = cursor.rowcount
        ratio = floor["rate"] / base["rate"]
        self.run.rows.append(Row(
            "Reference: one INSERT of a signature row per POST, committed, and nothing else",
            fmt(floor["rate"]), f"{fmt(base['rate'])} (trivial view, same POST)", f"{ratio:.0%}", "—", "—",
            f"the floor of any design that commits each signature before it answers: the sign form's POST, "
            f"checked as the sign form is, then one INSERT into the real table "
            f"(its {floor['rows_written_and_deleted']:,} rows deleted after the phase); "
            f"p50 {floor['p50_ms']:.1f} ms, p99 {floor['p99_ms']:.1f} ms, errors "
            f"{floor['errors']}; CPU per request: web {floor['cpu_ms_per_request']['gunicorn']:.2f} ms, PostgreSQL "
            f"{floor['cpu_ms_per_request']['postgres']:.2f} ms",
        ))

    @staticmethod
    def _held(prefix):
        """How many of a run's signatures (addresses starting with `prefix`) the
        app held for review: none, if the load looks like distinct people."""
        from petitions.models import Signature

        if not any(field.name == "flag_reason" for field in Signature._meta.get_fields()):
            return 0
        return Signature.objects.filter(email_normalized__startswith=prefix).exclude(flag_reason="").count()

    def _phase_sign_sustained(self):
        from petitions.models import Signature

        rate, seconds = self.args.sign_rate, self.profile.sustained_seconds
        print(f"Signing at {rate}/s for {seconds} s")
        self.queue_settle("sign-sustained")
        tag = f"r{int(time.time())}"
        esp_before = self.esp_accepted()
        argv = [sys.executable, str(BENCH / "pace.py"), "--url", f"{self.base_url}/en/p/{SLUG}/sign/",
                "--rate", str(rate), "--duration", str(seconds), "--tag", tag,
                "--ip-octet", "201"]
        before = cpu_snapshot(self.processes)
        output = self.processes.run("pace-sign", argv, self.env, timeout=seconds + 120)
        self.run.cpu["sign-sustained"] = cpu_cores(cpu_used(before, cpu_snapshot(self.processes)))
        result = json.loads(output.split("BENCH-JSON ", 1)[1].splitlines()[0])
        result["command"] = shlex.join(argv)
        result["signatures_created"] = Signature.objects.filter(email_normalized__startswith=f"{tag}.").count()
        result["signatures_held"] = held = self._held(f"{tag}.")
        if held:
            self.run.failures.append(f"sign-sustained: {held:,} signatures were held for review, so they sent no email")
        depth = self.queue_depth()
        result["email_backlog_after"] = depth
        drained = self.queue_wait_empty(self.profile.drain_timeout)
        result["email_backlog_drain_s"] = drained
        result["emails_sent"] = self.esp_accepted() - esp_before
        self.run.raw["sign-sustained"] = result
        failed = result["scheduled"] - result["ok"]
        on_time = result["sending_s"] <= seconds + 1
        p99 = result["latency_due_p99_ms"]
        met = failed == 0 and on_time and p99 is not None and p99 < 250
        achieved = result["ok"] / max(seconds, result["elapsed_s"])
        print(f"  sustained: {achieved:,.0f}/s, p50 {result['latency_due_p50_ms']} ms, p99 {p99} ms, failed {failed}")
        self.run.rows.append(Row(
            f"Signing at a fixed {rate}/s for {seconds} s (open loop)",
            f"{achieved:,.0f}/s, p99 {p99:,.0f} ms" if p99 is not None else f"{achieved:,.0f}/s",
            "—", "—", f"≥ {rate}/s, p99 < 250 ms, no errors", verdict(met),
            f"p50 {result['latency_due_p50_ms']:,.0f} ms, max {result['latency_due_max_ms']:,.0f} ms, counted from "
            f"when each request was due; {failed:,} of {result['scheduled']:,} failed or not sent; "
            f"statuses {result['statuses']}, errors {result['errors'] or 'none'}, not sent because 800 requests "
            f"were already open: {result['skipped_over_max_in_flight']:,}; the server recorded "
            f"{result['signatures_created']:,} signatures "
            f"({result['signatures_created'] / result['elapsed_s']:,.0f}/s, "
            f"answers that came after the client's 15 s timeout included); {depth:,} confirmation emails "
            f"still queued at the end"
            + (f", all sent {drained:.0f} s later" if drained is not None
               else ", not all sent within the drain timeout"),
        ))

    def phase_confirm(self):
        from django.utils import timezone as django_timezone

        from petitions.models import Signature
        from petitions.tokens import confirmation_token_make

        print("Confirming")
        self.queue_settle("confirm")
        # Newest pending signatures first: those signed in this run. A token is
        # used once; the pool is sized well above what a run can confirm.
        wanted = 600 * self.profile.load_seconds
        now = django_timezone.now()
        pending = Signature.objects.filter(state=Signature.State.PENDING)
        if any(field.name == "flag_reason" for field in Signature._meta.get_fields()):
            pending = pending.filter(flag_reason="")  # Held ones cannot be confirmed by their signer.
        pending = pending.order_by("-pk").only("public_id")[:wanted]
        tokens = [confirmation_token_make(signature, now) for signature in pending]
        token_file = self.scratch / "tokens.txt"
        token_file.write_text("\n".join(tokens) + "\n")
        confirm_env = {"BENCH_MODE": "confirm", "BENCH_CSRF_POOL": str(self.csrf_pool), "BENCH_TOKENS": str(token_file),
                       "BENCH_ORIGIN": self.base_url}
        confirmed_before = Signature.objects.filter(state=Signature.State.CONFIRMED).count()
        base, confirm = self.wrk_alternating([
            ("trivial-post-confirm", "/", "form.lua",
             confirm_env | {"BENCH_MODE": "trivial-confirm", "BENCH_PATH": "/_bench/trivial/"}),
            ("confirm-post", "/", "form.lua", confirm_env),
        ], settle=self._settle_quick)
        confirmed_after = Signature.objects.filter(state=Signature.State.CONFIRMED).count()
        confirm["signatures_confirmed"] = confirmed_after - confirmed_before
        confirm["tokens_available"] = len(tokens)
        ratio = confirm["rate"] / base["rate"]
        reused = confirm["tokens_reused"]
        cpu = confirm["cpu_ms_per_request"]
        self.run.rows.append(Row(
            "Confirming, POST/s at the maximum rate (signature confirmed, 2 letters + thank-you email queued)",
            fmt(confirm["rate"]), f"{fmt(base['rate'])} (trivial view, same POST)", f"{ratio:.0%}",
            "— (none set)", "—",
            f"p50 {confirm['p50_ms']:.1f} ms, p99 {confirm['p99_ms']:.1f} ms, errors {confirm['errors']}; "
            f"{confirm['signatures_confirmed']:,} signatures confirmed; CPU per confirmation: web "
            f"{cpu['gunicorn']:.1f} ms, worker {cpu['worker']:.1f} ms (letters and thank-you sent meanwhile)"
            + (f"; WARNING: the token pool ran out, {reused} tokens used twice" if reused else ""),
        ))

    def phase_letters(self):
        from campaign.celery import app

        count = self.profile.letters
        rounds = self.profile.rounds
        print(f"Letters ({count:,}, against as many no-op tasks)")
        self.queue_settle("letters")
        # Alternating halves (or thirds) of each, for the same reason as wrk_alternating.
        parts: dict[str, list[dict[str, Any]]] = {"noop": [], "letters": []}
        for index in range(rounds):
            for kind in ("noop", "letters") if index % 2 == 0 else ("letters", "noop"):
                size = count // rounds
                parts[kind].append(self._noop_drain(size) if kind == "noop" else self._letters_drain(size))
        app.control.purge()
        merged = {}
        for kind, results in parts.items():
            done = sum(part["done"] for part in results)
            seconds = sum(part["seconds"] for part in results)
            cpu: dict[str, float] = {}
            for part in results:
                cpu = cpu_add(cpu, part["cpu_seconds"])
            merged[kind] = {
                "done": done, "of": sum(part["of"] for part in results), "seconds": round(seconds, 2),
                "rate": done / seconds, "worker_cpu_ms": cpu.get("worker", 0) * 1000 / max(done, 1),
                "slices": results,
            }
            self.run.cpu[f"letters-{kind}"] = cpu_cores(cpu)
            print(f"  {kind}: {merged[kind]['rate']:,.0f}/s, worker CPU {merged[kind]['worker_cpu_ms']:.1f} ms each")
        self.run.raw["letters"] = merged
        letters, noop = merged["letters"], merged["noop"]
        ratio = letters["rate"] / noop["rate"]
        self.run.rows.append(Row(
            "Letters drained per second (dispatcher → worker → anymail → fake ESP)", fmt(letters["rate"]),
            f"{fmt(noop['rate'])} (no-op task)", f"{ratio:.0%}", "≥ 50% of no-op",
            verdict(ratio >= 0.5 and letters["done"] == letters["of"]),
            f"{letters['done']:,} of {letters['of']:,} letters sent in {letters['seconds']:.1f} s, {noop['done']:,} "
            f"no-op tasks in {noop['seconds']:.1f} s; worker CPU {letters['worker_cpu_ms']:.1f} ms a letter, "
            f"{noop['worker_cpu_ms']:.1f} ms a no-op task; Celery worker concurrency {self.worker_concurrency}",
        ))

    def _noop_drain(self, count):
        from bench.celery_app import noop
        from campaign.celery import app

        before = cpu_snapshot(self.processes)
        started = time.monotonic()
        with app.producer_or_acquire() as producer:
            for _ in range(count):
                noop.apply_async(producer=producer, retry=False)
        waited = self.queue_wait_empty(self.profile.drain_timeout)
        seconds = time.monotonic() - started
        done = count if waited is not None else count - self.queue_depth()
        if waited is None:
            app.control.purge()
        return {
            "of": count, "done": done, "seconds": seconds,
            "cpu_seconds": cpu_used(before, cpu_snapshot(self.processes)),
        }

    def _letters_drain(self, count):
        """Queue `count` letters as confirming leaves them (in the database, not
        yet handed to the broker), then time the production dispatcher handing
        them over and the worker sending them."""
        from django.utils import timezone as django_timezone

        from campaign.celery import app
        from petitions import emails
        from petitions.models import Letter, Petition, Signature
        from petitions.services import letters as letter_service

        petition = Petition.objects.get(slug=SLUG)
        targets = list(petition.targets.filter(is_active=True).order_by("pk"))
        signers = list(
            Signature.objects.filter(petition=petition, state=Signature.State.CONFIRMED, letters__isnull=True)
            .order_by("pk")[: -(-count // len(targets))]
        )
        now = django_timezone.now()
        letters = []
        for signature in signers:
            body = emails.letter_text(petition, signer_name=signature.full_name, signer_country=signature.country.name)
            reply_to = signature.email if signature.allows_reply else self._campaign_reply_to()
            for target in targets:
                letters.append(Letter(
                    signature=signature, target=target, subject=petition.letter_subject, body=body,
                    from_name=signature.full_name, reply_to=reply_to, created_at=now, next_attempt_at=now,
                ))
        ids = [letter.pk for letter in Letter.objects.bulk_create(letters[:count], batch_size=2000)]
        esp_before = self.esp_accepted()
        before = cpu_snapshot(self.processes)
        started = time.monotonic()
        letter_service.letters_dispatch()
        sent = 0
        # The new letters' ids form one range (bulk_create of one batch of rows);
        # a range keeps the polling query cheap.
        mine = Letter.objects.filter(pk__gte=min(ids), pk__lte=max(ids))
        while time.monotonic() - started < self.profile.drain_timeout:
            sent = mine.filter(state=Letter.State.SENT).count()
            if sent >= len(ids):
                break
            time.sleep(0.25)
        seconds = time.monotonic() - started
        cpu = cpu_used(before, cpu_snapshot(self.processes))
        if sent < len(ids):
            mine.filter(state=Letter.State.QUEUED).update(state=Letter.State.CANCELLED)
            app.control.purge()
            self.queue_wait_empty(60)
        return {"of": len(ids), "done": sent, "seconds": seconds, "cpu_seconds": cpu,
                "esp_accepted": self.esp_accepted() - esp_before}

    @staticmethod
    def _campaign_reply_to():
        from django.conf import settings

        return settings.CAMPAIGN_REPLY_TO

    def phase_mailing(self):
        wanted = self.profile.mailing_recipients
        if not self._mailings_available():
            self.run.rows.append(Row(f"Update mailing to {wanted:,} recipients, seconds to drain", "—",
                                     target="< 60 s for 100,000", met="not measurable yet",
                                     note="campaign updates are not built yet (issue 3)"))
            return
        from petitions.models import Mailing, MailingRecipient, Petition
        from petitions.selectors.mailings import mailing_progress
        from petitions.services import mailings

        print(f"Update mailing ({wanted:,} recipients)")
        self.queue_settle("mailing")
        petition = Petition.objects.get(slug=MAILING_SLUG)
        mailing = Mailing.objects.create(
            petition=petition, subject="Three weeks on: what your letters achieved",
            body=(
                "Thank you for signing. **More than 40,000 letters** have reached the recipients so far.\n\n"
                "This week the campaign met officials in Brussels. What we asked for:\n\n"
                "- independent monitoring of every detention centre\n- an end to returns to Libya\n\n"
                "Read the [full report](https://campaign.example.org/report) on our site."
            ),
        )
        esp_before = self.esp_accepted()
        before = cpu_snapshot(self.processes)
        started = time.monotonic()
        recipients = mailings.mailing_start(mailing_id=mailing.pk)
        snapshot_seconds = time.monotonic() - started
        timeout = max(self.profile.drain_timeout, 300)
        state = None
        while time.monotonic() - started < timeout:
            state = Mailing.objects.filter(pk=mailing.pk).values_list("state", flat=True).get()
            if state != Mailing.State.SENDING:
                break
            time.sleep(0.5)
        seconds = time.monotonic() - started
        self.run.cpu["mailing"] = cpu_cores(cpu_used(before, cpu_snapshot(self.processes)))
        progress = mailing_progress(mailing)
        sent = progress["sent"]
        if state == Mailing.State.SENDING:
            mailings.mailing_cancel(mailing_id=mailing.pk)
        self.run.raw["mailing"] = {
            "recipients": recipients, "sent": sent, "seconds": round(seconds, 2), "final_state": state,
            "audience_snapshot_s": round(snapshot_seconds, 2), "progress": progress,
            "esp_accepted": self.esp_accepted() - esp_before,
            "batches": MailingRecipient.objects.filter(mailing=mailing).values("batch").distinct().count(),
        }
        per_100k = seconds * 100_000 / recipients if recipients else None
        fast = per_100k is not None and per_100k < 60
        done = state == Mailing.State.SENT and sent == recipients
        print(f"  mailing: {recipients:,} recipients in {seconds:.1f} s ({state})")
        self.run.rows.append(Row(
            f"Update mailing to {recipients:,} recipients, seconds to drain", f"{seconds:.1f} s",
            target="< 60 s for 100,000",
            met=verdict(done and fast) if recipients >= 100_000 or not done else
            verdict(fast) + " (extrapolated)",
            note=f"{sent / seconds:,.0f} recipients/s; {sent:,} sent, final state {state}; audience snapshot "
                 f"{snapshot_seconds:.1f} s; {self.run.raw['mailing']['esp_accepted']:,} messages at the ESP"
                 + (f"; {per_100k:.0f} s for 100,000 at this rate" if per_100k is not None and recipients != 100_000
                    else ""),
        ))

    def serve(self):
        print(f"Serving {self.base_url}/en/p/{SLUG}/ (trivial view {self.base_url}/_bench/trivial/)")
        print(f"CSRF pool for bench/lua/form.lua: {self.csrf_pool}")
        for name in ("gunicorn", "worker", "beat", "fake-esp"):
            print(f"  {name}: PIDs {' '.join(map(str, self.processes.pids(name)))}")
        print("Environment for manage.py and the load scripts:")
        print("  " + " ".join(f"{name}={shlex.quote(value)}" for name, value in self.env.items()
                              if name not in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")))
        print("Ctrl-C stops everything.")
        while True:
            time.sleep(3600)

    # Machine ---------------------------------------------------------------------------------------

    def machine_describe(self):
        self.run.machine = machine_describe(self.redis_url)


# Main --------------------------------------------------------------------------------------------------

PHASES = ["page", "api", "sign", "confirm", "letters", "mailing", "million", "handover"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="10 s per load phase, 100,000 signatures, 10,000 mailing recipients (about 3 minutes)")
    parser.add_argument("--only", default=",".join(PHASES), help=f"comma-separated phases of: {','.join(PHASES)}")
    parser.add_argument("--web-workers", type=int, help="gunicorn workers (default 2 × cores + 1)")
    parser.add_argument("--web-threads", type=int,
                        help="threads per gunicorn worker (default 1: sync workers, as gunicorn.conf.py)")
    parser.add_argument("--worker-concurrency", type=int, help="Celery worker processes (default: cores)")
    parser.add_argument("--worker-nice", type=int, default=0,
                        help="run the Celery worker under nice -n N (default 0: same priority as the web)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, help="wrk connections (default 2 × gunicorn workers)")
    parser.add_argument("--sign-rate", type=int, default=330, help="signatures a second for the fixed-rate phase")
    parser.add_argument("--rows", type=int, help="signatures to load (default 1,000,000; 100,000 with --quick)")
    parser.add_argument("--port", type=int, help="web port (default: a free one)")
    parser.add_argument("--serve", action="store_true",
                        help="set up, start everything, print the addresses and PIDs, and wait for Ctrl-C "
                             "(for profiling with py-spy by hand); measures nothing")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--database", default="campaign_bench", help="database to DROP and create")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/10",
                        help="Redis URL with the database number the benchmark may FLUSHDB")
    args = parser.parse_args(argv)
    profile = PROFILES["quick" if args.quick else "full"]
    if args.rows:
        profile = Profile(**(asdict(profile) | {"rows": args.rows}))
    phases = [phase.strip() for phase in args.only.split(",") if phase.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    command_line = shlex.join(["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])])

    scratch = Path(tempfile.mkdtemp(prefix="campaign-bench-"))
    processes = Processes(scratch)
    # SIGTERM (from a CI runner, say) stops everything just as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Started in the background by a shell, a process inherits SIGINT ignored;
    # Ctrl-C (or kill -INT) must still stop the run and everything it started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    bench = Bench(args, profile, processes, scratch)
    bench.check_tools()
    started = time.monotonic()
    try:
        print(f"Setting up (database {args.database}, Redis {args.redis}, logs in {scratch})")
        bench.database_create()
        bench.redis_flush()
        bench.manage("migrate", "--noinput")
        bench.manage("petition_load")
        bench.manage("collectstatic", "--noinput")
        bench.django_setup()
        bench.machine_describe()
        bench.data_load()
        bench.services_start()
        bench.csrf_pool_fetch()
        if args.serve:
            bench.serve()
            return
        for phase in phases:
            try:
                getattr(bench, f"phase_{phase}")()
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as error:  # One broken phase must not lose the others' figures.
                import traceback

                traceback.print_exc()
                bench.run.failures.append(f"phase {phase} failed: {type(error).__name__}: {error}")
        bench.run.config["total_seconds"] = round(time.monotonic() - started)
    finally:
        processes.stop_all()
        with contextlib.suppress(Exception):
            bench.redis_flush()
    report_print(bench.run)
    path = results_write(bench.run, command_line)
    print(f"Written {path.relative_to(ROOT)} and {path.with_suffix('.json').name}; logs in {scratch}")
    print(f"Total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
