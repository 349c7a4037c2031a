"""Shared base for the tests: the petition as loaded on first run, and named personas.

Personas:
- `signer`: Amira Haddad from Tunisia, signing for the first time.
- `repeat_signer`: Amira again, with her address typed differently.
- `moderator`: staff who reviews signatures in the admin.
- `campaigner`: staff who edits petitions and recipients.
"""

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import translation

from petitions import caches
from petitions.roles import roles_ensure
from petitions.services.content import petition_seed_load

# Fixture modules whose fixtures every test can use without importing them.
# Registered once here: pytest refuses a module registered as a plugin twice.
pytest_plugins = ["tests.support.fault_fixtures", "tests.support.fault_report", "tests.support.browser"]

SIGNER = {
    "first_name": "Amira",
    "last_name": "Haddad",
    "email": "amira.haddad@example.org",
    "country": "TN",
    "postcode": "",
    "letter_consent": "on",
}


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request to /fr/ or /ar/
    activates that language in the thread, and reverse() would follow it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty test Redis: no stale tasks, no cached counts."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    caches.forget_all()
    yield


@pytest.fixture
def petition(db):
    petition, _ = petition_seed_load()
    return petition


@pytest.fixture
def signer():
    return dict(SIGNER)


@pytest.fixture
def repeat_signer():
    return dict(SIGNER, email="  Amira.Haddad@EXAMPLE.org ", first_name="Amira", last_name="Haddad-Other")


PASSWORD = "correct horse battery staple"


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("boss", "boss@campaign.example.org", PASSWORD)


def staff(username, *, role=None, permissions=()):
    """A staff member with a role (see petitions/roles.py) and/or single permissions."""
    from django.contrib.auth.models import Group

    roles_ensure(Group, Permission)  # a transactional test before this one may have emptied the table
    user = get_user_model().objects.create_user(username, f"{username}@campaign.example.org", PASSWORD, is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="petitions", codename__in=permissions))
    return user


@pytest.fixture
def moderator(db):
    return staff("moderator", role="Moderator")


@pytest.fixture
def campaigner(db):
    return staff("campaigner", role="Campaigner")


# What a browser says about a form posted from the petition page itself.
FROM_THE_PETITION_PAGE = {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}


def sign(client, petition, data):
    """Post the signing form as a browser would."""
    return client.post(reverse("petitions:sign", args=[petition.slug]), data, headers=FROM_THE_PETITION_PAGE)


@pytest.fixture
def fake_esp(settings):
    """A Resend-compatible ESP on 127.0.0.1, with anymail's real backend pointed at it."""
    from tests.support.fake_esp import FakeESP

    with FakeESP(api_key="test-key") as esp:
        settings.EMAIL_BACKEND = "campaign.email_backends.ResendEmailBackend"
        settings.ANYMAIL = (settings.ANYMAIL or {}) | {
            "RESEND_API_KEY": "test-key", "RESEND_API_URL": esp.url, "REQUESTS_TIMEOUT": (2, 2)
        }
        yield esp
