import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"SECRET_KEY": "k" * 50, "DJANGO_SETTINGS_MODULE": "campaign.settings", "PATH": os.environ["PATH"]}


def start(**overrides):
    """Start Django in a fresh process the way a server would, and return what it printed."""
    env = {key: value for key, value in (GOOD | overrides).items() if value is not None}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


class SettingsTests:
    def test_it_starts_with_nothing_but_a_secret_key(self):
        result = start()
        assert result.returncode == 0, result.stderr
        assert "started" in result.stdout

    @pytest.mark.parametrize(
        "variable,value,message",
        [
            ("SECRET_KEY", None, "SECRET_KEY must be set"),
            ("SECRET_KEY", "short", "SECRET_KEY must be at least 32 characters"),
            ("DEBUG", "maybe", "DEBUG must be one of"),
            ("DATABASE_URL", "nonsense://x", "DATABASE_URL is not a database URL"),
            ("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL must be a URL starting with redis://"),
            ("SITE_URL", "example.org", "SITE_URL must be a URL starting with http://"),
            ("DEFAULT_FROM_EMAIL", "campaign", "DEFAULT_FROM_EMAIL must be an email address"),
            ("LETTER_FROM_EMAIL", "a b@example.org", "LETTER_FROM_EMAIL must be an email address"),
            ("CONFIRMATION_MAX_AGE_DAYS", "ten", "CONFIRMATION_MAX_AGE_DAYS must be a whole number"),
            ("CONFIRMATION_MAX_AGE_DAYS", "0", "CONFIRMATION_MAX_AGE_DAYS must be at least 1"),
            ("SECURE_HSTS_SECONDS", "-5", "SECURE_HSTS_SECONDS must be at least 0"),
        ],
    )
    def test_a_bad_value_stops_start_up_naming_the_variable(self, variable, value, message):
        result = start(**{variable: value})
        assert result.returncode != 0
        assert "started" not in result.stdout
        assert message in result.stderr

    def test_anymail_keys_come_from_the_environment(self):
        env = GOOD | {"ANYMAIL_RESEND_API_KEY": "re_123", "EMAIL_BACKEND": "campaign.email_backends.ResendEmailBackend"}
        result = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); from django.conf import settings as s; "
             "print(s.ANYMAIL['RESEND_API_KEY'], s.EMAIL_BACKEND)"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
        assert result.stdout.split() == ["re_123", "campaign.email_backends.ResendEmailBackend"], result.stderr


class DeployCheckTests:
    def test_it_warns_when_production_would_use_sqlite_or_write_mail_to_files(self):
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy"],
            cwd=ROOT, env=GOOD, capture_output=True, text=True, timeout=60,
        )
        assert "petitions.W001" in result.stderr + result.stdout
        assert "petitions.W002" in result.stderr + result.stdout

    def test_it_is_quiet_about_both_once_they_are_configured(self):
        env = GOOD | {
            "DATABASE_URL": "postgres://u@127.0.0.1/db",
            "EMAIL_BACKEND": "campaign.email_backends.ResendEmailBackend",
        }
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
        assert "petitions.W00" not in result.stderr + result.stdout
