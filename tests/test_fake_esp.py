"""Tests of the fake Resend API, driven through django-anymail's real Resend backend.

If anymail can send to the fake unchanged, the end-to-end tests and the benchmark
exercise the same HTTP code path production uses against api.resend.com.
"""

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import django
import requests
from django.conf import settings

# The project's pytest setup normally configures Django. When this file runs without
# it, a bare configuration is enough, because these tests only need settings for mail.
if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
    settings.configure()
    django.setup()

from anymail.exceptions import AnymailRequestsAPIError  # noqa: E402
from anymail.message import AnymailMessage  # noqa: E402
from django.core.mail import EmailMultiAlternatives  # noqa: E402
from django.test import SimpleTestCase, override_settings  # noqa: E402

from tests.support.fake_esp import FakeESP  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FROM = "Zoë Ådahl <zoe@petitions.example>"


def resend_settings(url, api_key="test-key", **anymail):
    return override_settings(
        EMAIL_BACKEND="anymail.backends.resend.EmailBackend",
        ANYMAIL={"RESEND_API_KEY": api_key, "RESEND_API_URL": url, **anymail},
    )


def simple_message(to="signer@example.com", subject="Please confirm your signature"):
    return EmailMultiAlternatives(subject, "Plain body", FROM, [to])


class FakeEspTests(SimpleTestCase):
    def setUp(self):
        self.esp = self.enterContext(FakeESP())
        self.enterContext(resend_settings(self.esp.url))

    def test_it_records_a_message_as_anymail_sends_it(self):
        message = EmailMultiAlternatives(
            subject="Thank you for signing ✍",
            body="Thank you, Ørjan.",
            from_email=FROM,
            to=["Ørjan Signer <orjan@example.com>"],
            reply_to=["Campaign Team <team@petitions.example>"],
            headers={"List-Unsubscribe": "<https://petitions.example/u/abc>", "X-Petition-Id": 42},
        )
        message.attach_alternative("<p>Thank you, Ørjan.</p>", "text/html")

        self.assertEqual(message.send(), 1)

        [sent] = self.esp.messages
        self.assertEqual(sent["from"], FROM)
        self.assertEqual(sent["to"], ["Ørjan Signer <orjan@example.com>"])
        self.assertEqual(sent["reply_to"], ["Campaign Team <team@petitions.example>"])
        self.assertEqual(sent["subject"], "Thank you for signing ✍")
        self.assertEqual(sent["text"], "Thank you, Ørjan.")
        self.assertEqual(sent["html"], "<p>Thank you, Ørjan.</p>")
        # Anymail's Resend backend stringifies numeric header values before sending.
        expected_headers = {"List-Unsubscribe": "<https://petitions.example/u/abc>", "X-Petition-Id": "42"}
        self.assertEqual(sent["headers"], expected_headers)
        self.assertEqual((sent["cc"], sent["bcc"], sent["idempotency_key"]), ([], [], None))
        self.assertEqual(message.anymail_status.message_id, sent["id"])
        self.assertEqual(message.anymail_status.status, {"queued"})
        self.assertEqual(self.esp.messages_to("ORJAN@example.com"), [sent])
        self.assertEqual(self.esp.request_count, 1)

    def test_it_splits_an_anymail_batch_into_separate_messages_with_their_own_headers(self):
        recipients = ["a@example.com", "B Person <b@example.com>", "c@example.com"]
        message = AnymailMessage("News from the campaign", "Body", FROM, recipients, headers={"X-Campaign": "spring"})
        message.merge_data = {}  # An empty merge_data asks anymail for Resend's batch endpoint.
        message.merge_headers = {
            "a@example.com": {"List-Unsubscribe": "<https://petitions.example/u/a>"},
            "b@example.com": {"List-Unsubscribe": "<https://petitions.example/u/b>"},
        }

        message.send()

        sent = self.esp.messages
        self.assertEqual([m["to"] for m in sent], [[r] for r in recipients])
        self.assertEqual(self.esp.request_count, 1)
        for sent_message, who in zip(sent, "ab", strict=False):
            unsubscribe = f"<https://petitions.example/u/{who}>"
            self.assertEqual(sent_message["headers"], {"X-Campaign": "spring", "List-Unsubscribe": unsubscribe})
        self.assertEqual(sent[2]["headers"], {"X-Campaign": "spring"})
        # Anymail maps the batch's ids back to recipients in order.
        ids = {r: s.message_id for r, s in message.anymail_status.recipients.items()}
        self.assertEqual(ids, {f"{who}@example.com": m["id"] for who, m in zip("abc", sent, strict=True)})
        self.assertEqual(len(set(ids.values())), 3)

    def test_it_refuses_a_wrong_api_key_with_401(self):
        with resend_settings(self.esp.url, api_key="wrong-key"):
            with self.assertRaises(AnymailRequestsAPIError) as caught:
                simple_message().send()

        self.assertEqual(caught.exception.status_code, 401)
        self.assertEqual(caught.exception.response.json()["name"], "missing_api_key")
        self.assertEqual(self.esp.messages, [])
        self.assertEqual(self.esp.request_count, 1)

    def test_it_fails_the_next_request_with_retry_after_then_recovers(self):
        self.esp.fail_next(1, 429, retry_after=2)

        with self.assertRaises(AnymailRequestsAPIError) as caught:
            simple_message().send()
        self.assertEqual(caught.exception.status_code, 429)
        self.assertEqual(caught.exception.response.headers["Retry-After"], "2")
        self.assertEqual(caught.exception.response.json()["name"], "rate_limit_exceeded")
        self.assertEqual(self.esp.messages, [])

        simple_message().send()
        self.assertEqual(len(self.esp.messages), 1)
        self.assertEqual(self.esp.request_count, 2)

    def test_it_delays_one_request_past_the_client_timeout_without_blocking_others(self):
        self.esp.delay_next(1, 2)
        started = time.monotonic()

        with resend_settings(self.esp.url, REQUESTS_TIMEOUT=0.5):
            with self.assertRaises(AnymailRequestsAPIError) as caught:
                simple_message(to="slow@example.com").send()
        # Anymail re-raises a requests timeout as a class derived from both its own error
        # and the original requests exception, with no response and no status code.
        self.assertIsInstance(caught.exception, requests.exceptions.ReadTimeout)
        self.assertIsNone(caught.exception.status_code)
        self.assertIsInstance(caught.exception.__cause__, requests.exceptions.ReadTimeout)

        # The delayed request is still sleeping in its own thread; this one must not wait for it.
        simple_message(to="fast@example.com").send()
        self.assertLess(time.monotonic() - started, 1.5)
        self.assertEqual([m["to"] for m in self.esp.messages], [["fast@example.com"]])

        # Like a real ESP, the fake still accepts the message the client gave up on.
        self.esp.wait_for(2, timeout=5)
        self.assertEqual(len(self.esp.messages_to("slow@example.com")), 1)

    def test_it_rejects_only_messages_to_a_rejected_address(self):
        self.esp.reject_address("Bounced@Example.com", status=422, message="The address is on the suppression list.")

        simple_message(to="ok@example.com").send()
        with self.assertRaises(AnymailRequestsAPIError) as caught:
            simple_message(to="Someone <bounced@example.com>").send()
        self.assertEqual(caught.exception.status_code, 422)
        self.assertEqual(caught.exception.response.json()["message"], "The address is on the suppression list.")

        # A batch containing the address is refused whole, as Resend refuses it.
        batch = AnymailMessage("News", "Body", FROM, ["ok2@example.com", "bounced@example.com"])
        batch.merge_data = {}
        with self.assertRaises(AnymailRequestsAPIError):
            batch.send()

        self.assertEqual([m["to"] for m in self.esp.messages], [["ok@example.com"]])
        self.assertEqual(self.esp.messages_to("bounced@example.com"), [])
        self.esp.clear_faults()
        simple_message(to="bounced@example.com").send()
        self.assertEqual(len(self.esp.messages_to("bounced@example.com")), 1)

    def test_it_honours_an_idempotency_key(self):
        payload = {"from": FROM, "to": ["signer@example.com"], "subject": "Confirm", "text": "Body"}
        headers = {"Authorization": "Bearer test-key", "Idempotency-Key": "confirm/123"}
        url = self.esp.url + "emails"

        first = requests.post(url, json=payload, headers=headers, timeout=5)
        second = requests.post(url, json=payload, headers=headers, timeout=5)

        self.assertEqual((first.status_code, second.status_code), (200, 200))
        self.assertEqual(first.json(), second.json())
        [sent] = self.esp.messages
        self.assertEqual(sent["id"], first.json()["id"])
        self.assertEqual(sent["idempotency_key"], "confirm/123")
        self.assertEqual(self.esp.duplicates_suppressed, 1)
        # Reusing a key for a different request is a client bug that Resend answers with 409.
        changed = requests.post(url, json={**payload, "subject": "Other"}, headers=headers, timeout=5)
        self.assertEqual(changed.status_code, 409)
        self.assertEqual(len(self.esp.messages), 1)

    def test_it_refuses_a_retry_while_the_keyed_request_runs_then_replays_it(self):
        # This is the sequence a worker meets when it times out and retries with the same key.
        payload = {"from": FROM, "to": ["signer@example.com"], "subject": "Confirm", "text": "Body"}
        headers = {"Authorization": "Bearer test-key", "Idempotency-Key": "confirm/456"}
        url = self.esp.url + "emails"
        self.esp.delay_next(1, 1)

        with self.assertRaises(requests.exceptions.ReadTimeout):
            requests.post(url, json=payload, headers=headers, timeout=0.3)
        concurrent = requests.post(url, json=payload, headers=headers, timeout=5)
        self.assertEqual(concurrent.status_code, 409)
        self.assertEqual(concurrent.json()["name"], "concurrent_idempotent_requests")

        [sent] = self.esp.wait_for(1, timeout=5)
        replayed = requests.post(url, json=payload, headers=headers, timeout=5)
        self.assertEqual(replayed.json(), {"id": sent["id"]})
        self.assertEqual(len(self.esp.messages), 1)

    def test_it_runs_as_a_separate_process(self):
        python_path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": python_path}
        command = [sys.executable, "-m", "tests.support.fake_esp", "--port", "0", "--api-key", "proc-key"]
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True)
        try:
            # Port 0 lets the OS choose a free port, so read the address it announces.
            ready, _, _ = select.select([process.stdout], [], [], 10)
            self.assertTrue(ready, "fake-esp printed nothing within 10 seconds")
            line = process.stdout.readline()
            self.assertRegex(line, r"^fake-esp listening on http://127\.0\.0\.1:\d+/$")
            url = line.split()[-1]

            with resend_settings(url, api_key="proc-key"):
                simple_message().send()
            stats = requests.get(url + "_stats", timeout=5).json()
            self.assertEqual(stats, {"accepted": 1, "requests": 1, "duplicates_suppressed": 0})

            process.terminate()
            remaining_output, _ = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        self.assertEqual(process.returncode, 0)
        self.assertEqual(json.loads(remaining_output.strip().splitlines()[-1]), stats)
