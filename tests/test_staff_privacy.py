"""Staff see only what their role allows: crawled page by page as each role.

Without `view_signer_email`, no staff page, filter, search, history entry or
export reveals a signer's address, or whether an address signed."""

import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from petitions.models import EspEvent, Letter, Mailing, MailingRecipient, Outbox, Signature, Suppression
from petitions.services import signing
from tests.conftest import sign

pytestmark = pytest.mark.django_db

SECRET = "secret.signer+cause@privacy-test.example"
SECRET_FORMS = (SECRET, SECRET.replace("+cause", ""), "secret.signer", "privacy-test.example")
LINK = re.compile(r'href="([^"#]+)"')
# Links a crawl must not follow: they change state on GET or leave the site.
SKIP = ("/logout/", "/password_change/", "/delete/", "/export/")


def _world(client, petition, signer, superuser):
    """A signer who allowed replies (their address is every letter's Reply-To),
    asked for updates, bounced once, and was edited by a superuser."""
    sign(client, petition, signer | {"email": SECRET, "reply_consent": "on", "updates_consent": "on"})
    signature = Signature.objects.get()
    signing.signature_confirm(public_id=signature.public_id)
    Suppression.objects.create(email_normalized=signature.email_normalized, reason=Suppression.Reason.BOUNCED)
    EspEvent.objects.create(event_id="ev-1", event_type="bounced", recipient=signature.email_normalized)
    mailing = Mailing.objects.create(petition=petition, subject="News", body="News.", created_by=superuser)
    MailingRecipient.objects.create(
        mailing=mailing, signature=signature, email=signature.email, email_normalized=signature.email_normalized
    )
    LogEntry.objects.log_action(
        user_id=superuser.pk, content_type_id=ContentType.objects.get_for_model(Signature).pk,
        object_id=str(signature.pk), object_repr=str(signature), action_flag=CHANGE, change_message="Edited",
    )
    assert Letter.objects.filter(reply_to=signature.email).exists() and Outbox.objects.exists()
    return signature


def _crawl(client, start="/staff/", limit=400):
    """Every staff page reachable from the index by links, as this user: {url: body}."""
    seen, queue, pages = set(), [start], {}
    while queue and len(pages) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            pages[url] = response.content.decode(errors="replace") if response.status_code == 200 else ""
            continue
        body = response.content.decode()
        pages[url] = body
        for link in LINK.findall(body):
            target = urljoin(url, link.replace("&amp;", "&"))
            path = urlsplit(target)
            if path.netloc or not path.path.startswith("/staff/") or any(part in path.path for part in SKIP):
                continue
            queue.append(path.path + (f"?{path.query}" if path.query else ""))
    return pages


@pytest.mark.parametrize("role", ["moderator", "campaigner"])
class StaffPrivacyTests:
    def test_no_page_a_role_without_the_permission_can_reach_shows_a_signers_address(
        self, client, petition, signer, superuser, role, request
    ):
        _world(client, petition, signer, superuser)
        client.force_login(request.getfixturevalue(role))
        pages = _crawl(client)
        assert len(pages) > 20  # the crawl really went through the staff site
        leaks = {url: form for url, body in pages.items() for form in SECRET_FORMS if form in body}
        assert leaks == {}

    @pytest.mark.parametrize(
        "lookup",
        [
            "email__istartswith=secret", "email__iexact=" + SECRET, "email_normalized__regex=^s",
            "email__in=" + SECRET, "email_domain__startswith=privacy",
        ],
    )
    def test_a_filter_the_signature_list_does_not_offer_is_refused(
        self, client, petition, signer, superuser, role, request, lookup
    ):
        _world(client, petition, signer, superuser)
        client.force_login(request.getfixturevalue(role))
        response = client.get(reverse("admin:petitions_signature_changelist") + "?" + lookup)
        assert response.status_code in (302, 400, 403)
        if response.status_code == 302:
            assert "e=1" in response["Location"]  # Django's "incorrect lookup" answer

    def test_a_letter_filter_on_its_reply_to_is_refused(self, client, petition, signer, superuser, role, request):
        _world(client, petition, signer, superuser)
        client.force_login(request.getfixturevalue(role))
        response = client.get(reverse("admin:petitions_letter_changelist") + "?reply_to__startswith=secret")
        assert response.status_code in (302, 400, 403)

    def test_searching_an_address_tells_nothing_about_whether_it_signed(
        self, client, petition, signer, superuser, role, request
    ):
        _world(client, petition, signer, superuser)
        client.force_login(request.getfixturevalue(role))
        changelist = reverse("admin:petitions_signature_changelist")
        signed, never = (client.get(changelist, {"q": address}) for address in (SECRET, "nobody@privacy-test.example"))
        if role == "campaigner":
            # Campaigners may not read signatures at all.
            assert signed.status_code == never.status_code == 403
        else:
            assert signed.status_code == never.status_code == 200
            assert signed.context["cl"].result_count == never.context["cl"].result_count == 0


class EmailRoleTests:
    def test_staff_with_the_permission_still_find_a_signer_by_address(self, client, petition, signer, superuser):
        _world(client, petition, signer, superuser)
        client.force_login(superuser)
        response = client.get(reverse("admin:petitions_signature_changelist"), {"q": SECRET})
        assert response.context["cl"].result_count == 1
