"""Paper and offline signatures as staff enter them: a CSV previewed with its
good, bad and duplicate rows, added whole or not at all; the public count
saying how many were collected on paper; letters and mail only with the
consent the paper recorded; a batch withdrawn whole by its button in
Chromium; erasure covering paper signatures too."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from petitions.models import ConsentWording, Letter, OfflineBatch, Outbox, Signature
from petitions.selectors.counts import counts_reconcile
from petitions.selectors.mailings import mailing_audience
from petitions.services import offline, privacy, signing
from tests.conftest import PASSWORD, sign
from tests.support.processes import WebServer

HEADER = "first_name,last_name,country,email,postcode,letter_consent,reply_consent,updates_consent\n"
GOOD = [
    "Karim,Mansour,LY,karim@example.org,,yes,no,yes",
    "Leila,Ben Ali,Tunisia,,,x,,",  # no address; the country by its name
    "Noor,Salem,FR,noor@example.org,75011,no,no,no",
]
BAD = [
    "12345,Salem,FR,,,yes,,",  # a name without a letter
    "Omar,Zaidi,XX,,,yes,,",  # no such country
    "Sara,Idris,DE,,,yes,,yes",  # updates ticked, and no address to send them to
    "Yusuf,Haddad,EG,,,maybe,,",  # a consent cell that says neither yes nor no
]
DUPLICATES = [
    "Amira,Haddad,TN,  AMIRA.Haddad@Example.ORG ,,yes,,",  # signed online, another spelling
    "Karim,Mansour,LY,KARIM@example.org,,yes,,",  # twice in this batch
]


def csv_file(lines):
    return SimpleUploadedFile("paper.csv", (HEADER + "\n".join(lines) + "\n").encode(), content_type="text/csv")


def batch_fields(petition, **changes):
    consents = signing.consent_wordings_current()
    return {
        "petition": petition.pk,
        "collected_on": "2026-11-28",
        "place": "Stall at the Saturday market",
        "scan_reference": "scans/2026-11-28-market.pdf",
        "letter_consent": consents["letter"].pk,
        "reply_consent": "",
        "updates_consent": consents["updates"].pk,
        "row-TOTAL_FORMS": "0",
        "row-INITIAL_FORMS": "0",
    } | changes


@pytest.fixture
def signed_online(client, petition, signer):
    sign(client, petition, signer)
    signature = Signature.objects.get()
    signing.signature_confirm(public_id=signature.public_id)
    return signature


def preview(client, petition, lines):
    return client.post(
        reverse("admin:petitions_offline_add"), batch_fields(petition) | {"file": csv_file(lines)}
    )


def paper(first_name, *, email="", letter=True, updates=False, country="LY"):
    return offline.OfflineRow(
        first_name=first_name, last_name="Paper", country=country, email=email, letter=letter, updates=updates
    )


def batch_add(petition, user, rows, *, carried_updates=True):
    consents = signing.consent_wordings_current()
    return offline.offline_batch_add(
        petition=petition, rows=rows, entered_by=user, collected_on=date(2026, 11, 28), place="Town hall",
        scan_reference="scan-7",
        consents=offline.PaperConsents(
            letter=consents["letter"], reply=None, updates=consents["updates"] if carried_updates else None
        ),
    )


@pytest.mark.django_db
class PaperSignaturesTests:
    def test_it_shows_each_bad_row_and_adds_nothing_while_any_row_is_bad(
        self, client, petition, campaigner, signed_online
    ):
        client.force_login(campaigner)
        response = preview(client, petition, GOOD + BAD + DUPLICATES)
        assert response.status_code == 400
        page = response.content.decode()
        assert "3 to add, 2 duplicates to leave out, 4 rows with errors." in page
        assert "Please enter a name with at least one letter." in page
        assert "Please choose your country from the list." in page
        assert "This consent needs an email address, and the row has none." in page
        assert "letter_consent: write yes or no, not “maybe”." in page
        assert 'name="payload"' not in page
        assert OfflineBatch.objects.count() == 0
        assert Signature.objects.count() == 1

    def test_it_adds_the_good_rows_whole_and_leaves_out_addresses_that_signed_already(
        self, client, petition, campaigner, signed_online
    ):
        client.force_login(campaigner)
        response = preview(client, petition, GOOD + DUPLICATES)
        assert response.status_code == 200
        page = response.content.decode()
        assert "3 to add, 2 duplicates to leave out, 0 rows with errors." in page
        assert "Left out: signed already" in page and "Left out: twice in this batch" in page
        assert Signature.objects.count() == 1  # a preview writes nothing
        response = client.post(reverse("admin:petitions_offline_add"), {"payload": response.context["payload"]})
        batch = OfflineBatch.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("admin:petitions_offlinebatch_change", args=[batch.pk])
        assert (batch.signature_count, batch.duplicate_count) == (3, 2)
        assert (batch.entered_by, batch.place, batch.scan_reference) == (
            campaigner, "Stall at the Saturday market", "scans/2026-11-28-market.pdf"
        )
        paper_signatures = {s.first_name: s for s in Signature.objects.filter(offline_batch=batch)}
        assert sorted(paper_signatures) == ["Karim", "Leila", "Noor"]
        assert all(s.state == Signature.State.CONFIRMED for s in paper_signatures.values())
        assert paper_signatures["Leila"].country.code == "TN" and paper_signatures["Leila"].email == ""
        assert paper_signatures["Karim"].email_normalized == "karim@example.org"
        # Amira signed online first: her online signature is untouched and she has no second one.
        assert Signature.objects.filter(first_name="Amira").count() == 1
        assert signed_online.offline_batch_id is None

    def test_it_sends_letters_and_mail_only_with_the_consent_the_paper_recorded(
        self, petition, campaigner, settings
    ):
        recipients = petition.targets.filter(is_active=True).count()
        assert recipients > 0
        batch = batch_add(petition, campaigner, [
            paper("Karim", email="karim@example.org", letter=True, updates=True),
            paper("Noor", email="noor@example.org", letter=False, updates=False),
            paper("Leila", letter=True),
        ])
        by_name = {s.first_name: s for s in batch.signatures.all()}
        assert by_name["Karim"].letter_consent == ConsentWording.objects.get(
            pk=signing.consent_wordings_current()["letter"].pk
        )
        assert by_name["Noor"].letter_consent is None
        assert Letter.objects.filter(signature=by_name["Karim"]).count() == recipients
        assert Letter.objects.filter(signature=by_name["Leila"]).count() == recipients
        assert Letter.objects.filter(signature=by_name["Noor"]).count() == 0
        # No confirmation or thank-you email: the signer agreed on paper and asked for no mail.
        assert not Outbox.objects.filter(signature__offline_batch=batch).exists()
        audience = set(mailing_audience(petition_id=petition.pk).values_list("first_name", flat=True))
        assert audience == {"Karim"}

    def test_it_never_records_a_consent_the_paper_form_did_not_carry(self, petition, campaigner):
        batch = batch_add(
            petition, campaigner, [paper("Karim", email="karim@example.org", updates=True)], carried_updates=False
        )
        assert batch.signatures.get().updates_consent is None
        assert batch.updates_consent is None

    def test_it_counts_paper_signatures_and_the_page_says_how_many(
        self, client, petition, campaigner, signed_online, django_capture_on_commit_callbacks
    ):
        counts_reconcile()
        url = reverse("petitions:detail", args=[petition.slug])
        assert "collected on paper" not in client.get(url).content.decode()  # the page is now cached
        with django_capture_on_commit_callbacks(execute=True):
            batch_add(petition, campaigner, [paper("Karim"), paper("Leila")])
        page = client.get(url).content.decode()
        assert 'data-count>3</strong>' in page
        assert "Of these, 2 were collected on paper." in page

    def test_it_withdraws_a_batch_whole_and_the_count_drops(
        self, client, petition, campaigner, signed_online, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            batch = batch_add(petition, campaigner, [paper("Karim"), paper("Leila")])
        url = reverse("petitions:detail", args=[petition.slug])
        assert "Of these, 2 were collected on paper." in client.get(url).content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            withdrawn = offline.offline_batch_withdraw(batch_id=batch.pk, actor=campaigner, reason="Forms were forged")
        assert withdrawn == 2
        assert offline.offline_batch_withdraw(batch_id=batch.pk, actor=campaigner, reason="again") == 0
        assert set(batch.signatures.values_list("state", flat=True)) == {Signature.State.INVALIDATED}
        assert not Letter.objects.filter(signature__offline_batch=batch, state=Letter.State.QUEUED).exists()
        page = client.get(url).content.decode()
        assert 'data-count>1</strong>' in page and "collected on paper" not in page

    def test_it_erases_and_anonymises_paper_signatures_like_the_others(self, petition, campaigner):
        batch = batch_add(petition, campaigner, [paper("Karim", email="karim@example.org"), paper("Leila")])
        assert privacy.signer_erase(email="KARIM@example.org") == 1
        erased = batch.signatures.filter(first_name="")
        assert erased.count() == 1 and erased.get().email == ""
        leila = batch.signatures.get(first_name="Leila")
        assert privacy.signatures_erase(signature_ids=[leila.pk]) == 1
        assert batch.signatures.filter(first_name="").count() == 2

    def test_only_staff_with_the_permission_open_the_batch_page(self, client, moderator, campaigner):
        client.force_login(moderator)
        assert client.get(reverse("admin:petitions_offline_add")).status_code == 403
        client.force_login(campaigner)
        assert client.get(reverse("admin:petitions_offline_add")).status_code == 200
        template = client.get(reverse("admin:petitions_offline_template"))
        header = template.content.decode("utf-8-sig").splitlines()[0]
        assert header == HEADER.strip()

    def test_it_adds_rows_typed_in_the_admin(self, client, petition, campaigner):
        client.force_login(campaigner)
        typed = {
            "row-TOTAL_FORMS": "2", "row-INITIAL_FORMS": "0",
            "row-0-first_name": "Karim", "row-0-last_name": "Mansour", "row-0-country": "LY",
            "row-0-letter_consent": "on",
            "row-1-first_name": "", "row-1-last_name": "", "row-1-country": "",
        }
        response = client.post(reverse("admin:petitions_offline_add"), batch_fields(petition) | typed)
        assert response.status_code == 200, response.content.decode()[:2000]
        assert "1 to add, 0 duplicates to leave out, 0 rows with errors." in response.content.decode()
        client.post(reverse("admin:petitions_offline_add"), {"payload": response.context["payload"]})
        assert Signature.objects.get(offline_batch__isnull=False).first_name == "Karim"


@pytest.fixture
def site():
    with WebServer() as server:
        yield server


@pytest.mark.browser
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class PaperBatchBrowserTests:
    def test_it_withdraws_a_batch_when_its_button_is_clicked(self, site, browser, petition, campaigner):
        batch = batch_add(petition, campaigner, [paper("Karim"), paper("Leila")])
        context = browser.new_context()
        page = context.new_page()
        page.goto(site.url + reverse("admin:login"))
        page.fill("#id_username", "campaigner")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#user-tools")
        page.goto(site.url + reverse("admin:petitions_offlinebatch_change", args=[batch.pk]))
        with page.expect_navigation():
            page.click("#withdraw-batch")
        page.fill("#id_reason", "Forms were filled in by one hand")
        with page.expect_navigation():
            page.click("#withdraw-confirm")
        assert "2 signatures no longer count" in page.locator(".messagelist").inner_text()
        batch.refresh_from_db()
        assert batch.withdrawn_by == campaigner and batch.withdrawn_reason == "Forms were filled in by one hand"
        assert set(batch.signatures.values_list("state", flat=True)) == {Signature.State.INVALIDATED}
        assert "Withdrawn." in page.content()
        context.close()
