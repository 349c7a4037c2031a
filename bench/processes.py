"""The processes a benchmark run starts, and where the machine's CPU went."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Processes:
    """Every process the benchmark starts, each the leader of its own process
    group, so that stopping one stops its children (gunicorn and Celery
    workers) and nothing else on the machine."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.started = []  # (name, Popen, log file)

    def start(self, name, argv, env, *, cwd=ROOT):
        log = open(self.log_dir / f"{name}.log", "w")
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((name, process, log))
        return process

    def run(self, name, argv, env, *, timeout):
        """Run a load tool to completion; return its output. Stopped like the rest on Ctrl-C."""
        process = self.start(name, argv, env)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop(process)
            raise RuntimeError(f"{name} did not finish within {timeout} s") from None
        self.forget(process)
        output = (self.log_dir / f"{name}.log").read_text()
        if process.returncode != 0:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{output[-2000:]}")
        return output

    def pids(self, name):
        """PIDs of a started process and its descendants."""
        import psutil

        for started_name, process, _ in self.started:
            if started_name == name and process.poll() is None:
                with contextlib.suppress(psutil.NoSuchProcess):
                    parent = psutil.Process(process.pid)
                    return [parent.pid] + [child.pid for child in parent.children(recursive=True)]
        return []

    def leader(self, name):
        for started_name, process, _ in self.started:
            if started_name == name and process.poll() is None:
                return process.pid
        return None

    def forget(self, process):
        for entry in list(self.started):
            if entry[1] is process:
                entry[2].close()
                self.started.remove(entry)

    def stop(self, process, grace=20):
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        # Pool children can outlive their parent for a moment.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        self.forget(process)

    def stop_all(self):
        # Last started first: load tools, then web, beat, worker, the fake ESP.
        for name, process, _ in reversed(list(self.started)):
            try:
                self.stop(process)
            except Exception as error:  # Keep stopping the others whatever happens to one.
                print(f"warning: stopping {name} (pid {process.pid}) failed: {error}", file=sys.stderr)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url, timeout, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


# CPU accounting: which part of the system used the machine during a phase.


def _tree_cpu_seconds(root):
    """CPU seconds used by a process and all its descendants, past and present.

    A process's descendants that have exited (and been waited for) are in its
    cumulative children times; the live ones are added one by one. Together
    the sum only grows, so PostgreSQL backends that come and go (a connection
    per Celery task, parallel query workers) are counted too.
    """
    import psutil

    try:
        times = root.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
    return total


def _server_roots(prefix):
    """The top processes of a server not started by the benchmark (the postmaster, say)."""
    import psutil

    roots = []
    for process in psutil.process_iter(["pid", "name", "ppid"]):
        if not (process.info["name"] or "").startswith(prefix):
            continue
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(process.info["ppid"]) if process.info["ppid"] else None
            if parent is None or not (parent.name() or "").startswith(prefix):
                roots.append(process)
    return roots


# What a phase's CPU time is broken down into. "load-tool" is wrk or pace.py,
# "harness" this process (it polls and sets up data), "machine" all of it.
COMPONENTS = ["gunicorn", "worker", "beat", "fake-esp", "postgres", "redis", "load-tool", "harness"]


def cpu_snapshot(processes):
    """CPU seconds used so far by each component (and the whole machine)."""
    import psutil

    snapshot = {
        "postgres": sum(_tree_cpu_seconds(root) for root in _server_roots("postgres")),
        "redis": sum(_tree_cpu_seconds(root) for root in _server_roots("redis-server")),
    }
    for name in ("gunicorn", "worker", "beat", "fake-esp"):
        leader = processes.leader(name)
        snapshot[name] = _tree_cpu_seconds(psutil.Process(leader)) if leader else 0.0
    times = os.times()
    # Load tools are children this process waits for, so they show up here
    # once they have finished (which they have, at the end of a phase).
    snapshot["load-tool"] = times.children_user + times.children_system
    snapshot["harness"] = times.user + times.system
    snapshot["machine"] = sum(psutil.cpu_times()[:3])  # user, nice and system time of all cores
    snapshot["wall"] = time.monotonic()
    return snapshot


def cpu_used(before, after):
    """CPU seconds each component used between two snapshots, and the wall time."""
    return {name: round(after[name] - before[name], 3) for name in before}


def cpu_add(first, second):
    return {name: round(first.get(name, 0) + second.get(name, 0), 3) for name in set(first) | set(second)}


def cpu_cores(used):
    """Average cores each component kept busy, plus what processes outside the benchmark used."""
    wall = used["wall"] or 1
    cores = {name: round(used.get(name, 0) / wall, 2) for name in COMPONENTS + ["machine"]}
    cores["others"] = round(max(0.0, used.get("machine", 0) - sum(used.get(name, 0) for name in COMPONENTS)) / wall, 2)
    cores["wall_s"] = round(wall, 1)
    return cores


class RssSampler:
    """Samples the resident memory of some processes in a thread, to find how
    much one of them grew at its peak (say, the gunicorn worker serving an export)."""

    def __init__(self, pids, interval=0.02):
        import psutil

        self.processes = []
        for pid in pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.processes.append(psutil.Process(pid))
        self.interval = interval
        self.start_rss = {process.pid: self._rss(process) for process in self.processes}
        self.max_rss = dict(self.start_rss)
        self._stop = threading.Event()

    @staticmethod
    def _rss(process):
        import psutil

        try:
            return process.memory_info().rss
        except psutil.NoSuchProcess:
            return 0

    def _run(self):
        while not self._stop.wait(self.interval):
            for process in self.processes:
                self.max_rss[process.pid] = max(self.max_rss[process.pid], self._rss(process))

    def __enter__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()

    def peak_growth(self):
        return max((self.max_rss[pid] - self.start_rss[pid] for pid in self.max_rss), default=0)

    def peak_rss(self):
        return max(self.max_rss.values(), default=0)
