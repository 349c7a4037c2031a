"""The database going away under a running web server, and coming back.

PostgreSQL (CI): the web server reaches the test database through a TCP proxy.
`down()` does what a restart does to clients: the server terminates their
sessions ("terminating connection due to administrator command"), open
connections drop, and new ones are refused until `up()`. The database server
itself is shared with everything else on the machine, so it is not restarted.

SQLite (`make test`): there is no server to restart. The web server is started
with this module as a gunicorn config, whose hook makes every new connection
and every query fail with OperationalError while a flag file exists, so a
request can fail at any statement, including in the middle of a transaction.
"""

import os
import tempfile
from pathlib import Path
from urllib.parse import quote

_FLAG_VARIABLE = "TEST_DATABASE_DOWN_FLAG"
APPLICATION_NAME = "fault-injection-web"


def database_outage():
    from django.db import connection

    if connection.vendor == "postgresql":
        return PostgresRestart(connection.settings_dict)
    return SqliteOutage()


class PostgresRestart:
    kind = "postgresql-restart"

    def __init__(self, settings_dict):
        from tests.support.tcp_proxy import TcpProxy

        self.settings_dict = settings_dict
        self.proxy = TcpProxy(settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432))

    def web_env(self):
        credentials = quote(self.settings_dict["USER"] or "")
        if self.settings_dict["PASSWORD"]:
            credentials += ":" + quote(self.settings_dict["PASSWORD"])
        return {
            "DATABASE_URL": f"postgres://{credentials}@127.0.0.1:{self.proxy.port}/{self.settings_dict['NAME']}"
            f"?application_name={APPLICATION_NAME}"
        }

    def web_args(self):
        return []

    def down(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                [APPLICATION_NAME],
            )
        self.proxy.down()

    def up(self):
        self.proxy.up()

    def __enter__(self):
        self.proxy.start()
        return self

    def __exit__(self, *exc_info):
        self.proxy.stop()


class SqliteOutage:
    kind = "sqlite-unavailable"

    def __init__(self):
        self.flag = Path(tempfile.mkdtemp(prefix="test-db-outage-")) / "down"

    def web_env(self):
        return {_FLAG_VARIABLE: str(self.flag)}

    def web_args(self):
        return ["--config", f"python:{__name__}"]

    def down(self):
        self.flag.touch()

    def up(self):
        self.flag.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.up()


# gunicorn config hook (used through `--config python:tests.support.db_faults`).


def post_worker_init(worker):
    from django.db.backends.signals import connection_created

    connection_created.connect(_connection_created, weak=False, dispatch_uid="tests.db_faults")


def _database_is_down():
    flag = os.environ.get(_FLAG_VARIABLE)
    return bool(flag and os.path.exists(flag))


def _unavailable():
    from django.db import OperationalError

    return OperationalError("The database is unavailable (injected by the fault tests).")


def _connection_created(sender, connection, **kwargs):
    if _fail_while_down not in connection.execute_wrappers:
        connection.execute_wrappers.append(_fail_while_down)
    if _database_is_down():
        raise _unavailable()


def _fail_while_down(execute, sql, params, many, context):
    if _database_is_down():
        raise _unavailable()
    return execute(sql, params, many, context)
