"""The hand-over pack as staff make it and a recipient checks it: a PDF and
a CSV of the confirmed signatures (never an address), a cover with the
petition, recipients, date, count by country and the chain's final digest,
and `handover_verify` telling the list handed over from a changed one."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from pypdf import PdfReader

from petitions.models import HandoverPack, Signature
from petitions.selectors.handover import chain_next, chain_start
from petitions.services import handover, signing
from tests.conftest import sign
from tests.test_paper_signatures import batch_add, paper

pytestmark = pytest.mark.django_db


@pytest.fixture
def handover_dir(settings, tmp_path):
    settings.HANDOVER_DIR = tmp_path / "handover"
    return settings.HANDOVER_DIR


@pytest.fixture
def signatures(client, petition, signer, campaigner):
    for number, country in enumerate(["TN", "TN", "FR"]):
        sign(client, petition, signer | {"email": f"online{number}@example.org", "country": country})
    sign(client, petition, signer | {"email": "never-confirmed@example.org"})
    for signature in Signature.objects.exclude(email__startswith="never"):
        signing.signature_confirm(public_id=signature.public_id)
    batch_add(petition, campaigner, [paper("Karim", email="karim@example.org"), paper("Leila")])


def verify(path, *arguments):
    out = io.StringIO()
    call_command("handover_verify", str(path), *arguments, stdout=out)
    return out.getvalue()


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def rows_write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as file:
        csv.writer(file, lineterminator="\n").writerows(rows)


class HandoverTests:
    def test_it_makes_a_csv_and_a_pdf_of_the_confirmed_signatures_without_addresses(
        self, client, petition, campaigner, handover_dir, signatures
    ):
        client.force_login(campaigner)
        response = client.post(reverse("admin:petitions_handover"), {"petition": petition.pk, "recipients": ""})
        assert response.status_code == 302
        pack = HandoverPack.objects.get()
        assert pack.completed_at is None and "being made" in client.get(response.url).content.decode()
        # What the worker does with the task the page handed over.
        handover.handover_pack_build(pack_id=pack.pk)
        pack.refresh_from_db()
        assert pack.signature_count == 5 and pack.count_by_country == {"Tunisia": 2, "France": 1, "Libya": 2}
        csv_response = client.get(reverse("admin:petitions_handover"), {"pack": pack.pk, "file": "csv"})
        text = b"".join(csv_response.streaming_content).decode()
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["number", "name", "country_code", "country", "signed_on", "collected", "chain"]
        assert [row[5] for row in rows[1:]].count("paper") == 2 and len(rows) == 6
        assert "@" not in text and "never-confirmed" not in text
        assert rows[-1][6] == pack.final_digest
        pdf_response = client.get(reverse("admin:petitions_handover"), {"pack": pack.pk, "file": "pdf"})
        reader = PdfReader(io.BytesIO(b"".join(pdf_response.streaming_content)))
        cover = reader.pages[0].extract_text()
        assert petition.title[:40] in cover
        assert pack.final_digest in cover
        assert "Confirmed signatures: 5" in cover and "Tunisia" in cover and "Libya" in cover
        for target in petition.targets.filter(is_active=True):
            assert str(target)[:30] in cover
        listed = "".join(page.extract_text() for page in reader.pages[1:])
        assert "Karim Paper" in listed and "paper" in listed and "online" in listed

    def test_handover_verify_accepts_the_list_handed_over(self, petition, campaigner, handover_dir, signatures):
        pack = handover.handover_pack_make(petition=petition, created_by=campaigner, recipients=["The Minister"])
        csv_path, _pdf_path = handover.handover_paths(pack)
        output = verify(csv_path, "--digest", pack.final_digest)
        assert f"This is the list handed over: pack {pack.pk}" in output
        assert pack.final_digest in output

    def test_handover_verify_finds_one_changed_row(self, petition, campaigner, handover_dir, signatures):
        pack = handover.handover_pack_make(petition=petition, created_by=campaigner, recipients=["The Minister"])
        csv_path, _pdf_path = handover.handover_paths(pack)
        rows = rows_of(csv_path)
        rows[3][1] = "Someone Else"
        rows_write(csv_path, rows)
        with pytest.raises(CommandError, match="NOT the list handed over: row 3 "):
            verify(csv_path)

    def test_handover_verify_refuses_a_changed_list_with_its_chain_recomputed(
        self, petition, campaigner, handover_dir, signatures
    ):
        pack = handover.handover_pack_make(petition=petition, created_by=campaigner, recipients=["The Minister"])
        csv_path, _pdf_path = handover.handover_paths(pack)
        rows = rows_of(csv_path)
        del rows[2]  # one signature dropped, the numbers and chain rewritten to hide it
        chain = chain_start()
        for number, row in enumerate(rows[1:], start=1):
            row[0] = str(number)
            chain = row[6] = chain_next(chain, row[:6])
        rows_write(csv_path, rows)
        with pytest.raises(CommandError, match="no hand-over pack with this final digest was recorded"):
            verify(csv_path)
        with pytest.raises(CommandError, match="the final digest differs from the one given"):
            verify(csv_path, "--digest", pack.final_digest)

    def test_only_staff_with_the_permission_make_packs(self, client, moderator):
        client.force_login(moderator)
        assert client.get(reverse("admin:petitions_handover")).status_code == 403


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
class HandoverWorkerTests:
    def test_a_pack_asked_for_in_the_admin_is_built_by_a_celery_worker(
        self, client, petition, campaigner, handover_dir, signatures
    ):
        from tests.support.fake_esp import FakeESP
        from tests.support.processes import CeleryWorker, wait_until

        client.force_login(campaigner)
        with FakeESP(api_key="test-key") as esp, CeleryWorker(
            esp.url, extra_env={"HANDOVER_DIR": str(handover_dir)}
        ) as worker:
            response = client.post(
                reverse("admin:petitions_handover"), {"petition": petition.pk, "recipients": "The Minister"}
            )
            assert response.status_code == 302
            pack = HandoverPack.objects.get()
            wait_until(
                lambda: HandoverPack.objects.filter(pk=pack.pk, completed_at__isnull=False).exists(),
                timeout=60, message="the pack built by the worker\n" + worker.log(),
            )
        pack.refresh_from_db()
        assert pack.signature_count == 5
        csv_path, pdf_path = handover.handover_paths(pack)
        assert pdf_path.exists()
        assert f"This is the list handed over: pack {pack.pk}" in verify(csv_path)
