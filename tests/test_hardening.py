"""Production safety found missing from outside: unauthenticated webhooks, webhook
input too long for its column, gunicorn's shared control socket, and the
Permissions-Policy header."""

import subprocess
import sys

import pytest
from django.urls import reverse
from gunicorn.config import Config

from petitions.models import EspEvent, Suppression, Target
from tests.test_security import ROOT, _production_env
from tests.test_webhooks import BASIC, SIGNING_SECRET, event_body, post_event

pytestmark = pytest.mark.django_db


class WebhookAuthenticationTests:
    def test_without_a_secret_a_forged_bounce_is_refused_and_holds_nothing(self, client, petition, settings):
        settings.ANYMAIL = {key: value for key, value in (settings.ANYMAIL or {}).items() if key != "WEBHOOK_SECRET"}
        target = Target.objects.first()
        response = post_event(client, event_body("email.bounced", target.email), auth=None)
        assert response.status_code == 403
        target.refresh_from_db()
        assert target.bounce_held_since is None and not Suppression.objects.exists()

    def test_a_local_setting_opens_them_on_purpose(self, client, petition, settings):
        settings.ANYMAIL = {"RESEND_SIGNING_SECRET": SIGNING_SECRET}
        settings.ESP_WEBHOOKS_OPEN = True
        response = post_event(client, event_body("email.bounced", "someone@example.org"), auth=None)
        assert response.status_code == 200

    def test_check_deploy_fails_in_production_without_the_secret(self):
        env = _production_env()
        del env["ANYMAIL_WEBHOOK_SECRET"]
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode != 0
        assert "petitions.E001" in result.stderr + result.stdout


class WebhookInputTests:
    def test_a_recipient_longer_than_an_address_can_be_is_refused_not_stored(self, client, settings):
        settings.ANYMAIL = (settings.ANYMAIL or {}) | {"WEBHOOK_SECRET": BASIC, "RESEND_SIGNING_SECRET": SIGNING_SECRET}
        too_long = "a" * 300 + "@example.org"  # 312 characters; the column holds 254
        response = post_event(client, event_body("email.bounced", too_long), auth=BASIC)
        assert response.status_code == 200  # answered, so the ESP does not retry it for ever
        assert not EspEvent.objects.exists() and not Suppression.objects.exists()

    def test_a_recipient_that_is_no_address_is_refused(self, client, settings):
        settings.ANYMAIL = (settings.ANYMAIL or {}) | {"WEBHOOK_SECRET": BASIC, "RESEND_SIGNING_SECRET": SIGNING_SECRET}
        response = post_event(client, event_body("email.bounced", "nobody-at-all"), auth=BASIC)
        assert response.status_code in (200, 400)
        assert not EspEvent.objects.exists() and not Suppression.objects.exists()


class ServerHardeningTests:
    def test_gunicorn_opens_no_control_socket(self):
        config = Config()
        namespace: dict = {}
        exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
        for name, value in namespace.items():
            if name in config.settings:
                config.set(name, value)
        assert config.control_socket_disable is True

    def test_every_kind_of_page_says_which_browser_features_it_may_not_use(self, client, petition):
        for url in (
            reverse("petitions:detail", args=[petition.slug]),
            reverse("petitions:privacy"),
            reverse("admin:login"),
            "/anymail/resend/tracking/",
        ):
            policy = client.get(url).headers.get("Permissions-Policy", "")
            assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy, url


class PrivacyPageTests:
    def test_the_privacy_page_names_who_holds_the_data_and_why(self, client, settings):
        settings.PRIVACY_CONTROLLER = "Campaign Example, 1 Example Street, London"
        settings.PRIVACY_CONTACT_EMAIL = "privacy@campaign.example.org"
        settings.PRIVACY_EMAIL_PROVIDER = "Resend"
        page = client.get(reverse("petitions:privacy")).content.decode()
        facts = ("Campaign Example, 1 Example Street, London", "privacy@campaign.example.org", "Resend", "consent")
        for shown in facts:
            assert shown in page

    def test_check_deploy_fails_in_production_while_the_privacy_page_is_incomplete(self):
        env = _production_env()
        del env["PRIVACY_CONTROLLER"]
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode != 0
        assert "petitions.E002" in result.stderr + result.stdout and "PRIVACY_CONTROLLER" in result.stderr
