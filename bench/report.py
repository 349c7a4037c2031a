"""A run's results: the rows of the table, and the Markdown and JSON written for it."""

import contextlib
import importlib.metadata
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.processes import COMPONENTS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Row:
    figure: str
    measured: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: str = "—"  # "met", "NOT MET", "—" (no target) or "not measurable yet"
    note: str = ""


@dataclass
class Run:
    profile: object  # bench.run.Profile
    args: dict
    started_at: str
    rows: list = field(default_factory=list)
    raw: dict = field(default_factory=dict)
    cpu: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    machine: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)


def fmt(value, digits=0):
    return f"{value:,.{digits}f}"


def verdict(ok):
    return "met" if ok else "NOT MET"


# Report ----------------------------------------------------------------------------------------------


def report_markdown(run, command_line):
    machine, config = run.machine, run.config
    lines = [
        f"# Benchmark run {run.started_at[:19].replace('T', ' ')} UTC ({run.profile.name})",
        "",
        f"Command: `{command_line}`",
        "",
        "| Figure | Measured | Baseline (same run) | Ratio | Target | Met? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in run.rows:
        lines.append(f"| {row.figure} | {row.measured} | {row.baseline} | {row.ratio} | {row.target} | {row.met} |")
    lines += ["", "Notes:", ""]
    for row in run.rows:
        if row.note:
            lines.append(f"- **{row.figure}**: {row.note}")
    if run.failures:
        lines += ["", "Problems during the run:", ""] + [f"- {failure}" for failure in run.failures]
    lines += [
        "",
        "## Where the CPU went",
        "",
        "Cores kept busy on average during each phase (2.0 = both cores of a 2-core machine). "
        "\"postgres\" and \"redis\" are the whole servers, \"others\" is every process outside the "
        "benchmark (the machine is shared), \"machine\" is the total.",
        "",
    ]
    names = COMPONENTS + ["others", "machine"]
    lines.append("| Phase | wall s | " + " | ".join(names) + " |")
    lines.append("| --- | --- | " + " | ".join("---" for _ in names) + " |")
    for phase, used in run.cpu.items():
        cells = " | ".join(str(used.get(name, "")) for name in names)
        lines.append(f"| {phase} | {used.get('wall_s', '')} | {cells} |")
    lines += [
        "",
        "## Setup",
        "",
        f"- gunicorn workers: {config.get('web_workers')} with {config.get('web_threads', 1)} thread(s) each"
        f" (gthread when more than 1); Celery worker concurrency (prefork): "
        f"{config.get('worker_concurrency')}; one beat; fake ESP in its own process",
        f"- wrk: {config.get('wrk_threads')} threads, {config.get('wrk_connections')} connections, "
        f"{run.profile.load_seconds} s per phase; fixed-rate signing: {run.profile.sustained_seconds} s",
        f"- PostgreSQL database `{run.args['database']}`, Redis {run.args['redis']}",
        "",
        "## Machine",
        "",
    ]
    for key, value in machine.items():
        lines.append(f"- {key.replace('_', ' ')}: {value}")
    return "\n".join(lines) + "\n"


def report_print(run):
    headers = ["Figure", "Measured", "Baseline", "Ratio", "Target", "Met?"]
    rows = [[row.figure, row.measured, row.baseline, row.ratio, row.target, row.met] for row in run.rows]
    widths = [min(60, max(len(str(item)) for item in column)) for column in zip(headers, *rows, strict=True)]
    print()
    for line in [headers, ["-" * width for width in widths], *rows]:
        print("  ".join(str(item)[:60].ljust(width) for item, width in zip(line, widths, strict=True)))
    print()


def results_write(run, command_line):
    directory = RESULTS
    directory.mkdir(exist_ok=True)
    stamp = run.started_at[:19].replace(":", "").replace("-", "").replace("T", "-")
    name = f"{stamp}-{run.profile.name}"
    for suffix, text in (
        (".md", report_markdown(run, command_line)),
        (".json", json.dumps(asdict(run) | {"command": command_line}, indent=2, default=str) + "\n"),
    ):
        temporary = directory / f"{name}{suffix}.tmp"
        temporary.write_text(text)
        temporary.replace(directory / f"{name}{suffix}")
    return directory / f"{name}.md"


def machine_describe(redis_url):
    """The machine and the versions a run measured, for its result files."""
    from django.db import connection

    def command(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10, cwd=ROOT).stdout.strip()
        except OSError:
            return ""

    import celery
    import django
    import psutil
    import psycopg
    import redis

    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    redis_info = redis.Redis.from_url(redis_url).info("server")
    commit = command(["git", "rev-parse", "--short", "HEAD"])
    # --no-optional-locks: only read, never refresh the index.
    dirty = command(["git", "--no-optional-locks", "status", "--porcelain"])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "kernel": platform.release(),
        "os": command(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "python": platform.python_version(),
        "django": django.get_version(),
        "celery": celery.__version__,
        "gunicorn": importlib.metadata.version("gunicorn"),
        "psycopg": psycopg.__version__,
        "postgresql": postgres,
        "redis_server": redis_info.get("redis_version"),
        "wrk": command(["sh", "-c", "wrk -v 2>&1 | head -1"]).split(" [")[0],
        "git_commit": commit or "not a git checkout",
        "git_dirty": bool(dirty) if commit else None,
    }
