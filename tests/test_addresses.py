"""The one address rule (petitions.addresses): the spellings of one mailbox an
attacker would use to sign twice all map to one form, different mailboxes stay
different, and the rule never raises and is idempotent on any text. Then the
data migration that rewrites the stored addresses through it."""

import importlib
import unicodedata
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petitions.addresses import domain_canonical, email_canonical, email_domain, email_for_sending

# Pieces an address is made of, and the look-alikes of each, so random text
# often hits the interesting cases (an "@" inside, a Gmail domain, ...).
_PIECES = st.sampled_from(
    [
        "@", ".", "+", " ", "a", "Z", "ß", "ẞ", "İ", "ı", "ſ", "ﬁ", "ς", "Σ", "Ü", "ü", "Ǆ", "ᏸ", "Ꭰ",
        "\u0301", "\u0345", "\u00b4", "\u2024", "\u3002", "\uff0e", "\uff61", "\uff20", "\ufe6b", "\u3000",
        "\u00a0", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "-", "_", "xn--", "xn--bcher-kva",
        "gmail.com", "googlemail.com", "outlook.com", "bücher", "ｇｍａｉｌ", ".example",
    ]
)
_ANY_CHARACTER = st.characters(blacklist_categories=())  # surrogates and controls included
junk = st.one_of(
    st.text(alphabet=_ANY_CHARACTER, max_size=40),
    st.lists(st.one_of(_PIECES, _ANY_CHARACTER), max_size=25).map("".join),
)
_HYPOTHESIS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def one_form(*spellings: str) -> set[str]:
    return {email_canonical(spelling) for spelling in spellings}


class AddressRuleTests:
    def test_it_ignores_case_and_surrounding_spaces(self) -> None:
        assert one_form("amira.haddad@example.org", "  Amira.Haddad@EXAMPLE.org ", "\tAMIRA.HADDAD@example.ORG\n") == {
            "amira.haddad@example.org"
        }

    def test_it_ignores_dots_and_plus_tags_at_gmail_and_googlemail(self) -> None:
        assert one_form(
            "janedoe@gmail.com", "Jane.Doe@gmail.com", "j.a.n.e.d.o.e@gmail.com", "jane.doe+petition@gmail.com",
            "JaneDoe+x+y@GMAIL.COM", "jane.doe@googlemail.com", "janedoe+tag@GoogleMail.com", "janedoe@gmail.com.",
        ) == {"janedoe@gmail.com"}

    def test_it_ignores_plus_tags_at_the_providers_that_do(self) -> None:
        assert one_form("nour+a@outlook.com", "Nour+b@Outlook.com", "nour@outlook.com") == {"nour@outlook.com"}
        assert one_form("nour+a@proton.me", "nour@proton.me") == {"nour@proton.me"}
        assert email_canonical("nour+a@fastmail.com") == "nour@fastmail.com"
        # Dots matter there: only Gmail ignores them.
        assert email_canonical("n.our@outlook.com") == "n.our@outlook.com"

    def test_it_reads_unicode_punycode_and_full_width_domains_as_one(self) -> None:
        assert one_form(
            "h@bücher.example",
            "h@xn--bcher-kva.example",
            "H@BÜCHER.EXAMPLE",
            "H@XN--BCHER-KVA.EXAMPLE",
            "ｈ＠ｂüｃｈｅｒ．ｅｘａｍｐｌｅ",
            "ｈ＠ＢÜＣＨＥＲ．ＥＸＡＭＰＬＥ",
            "h@bu\u0308cher.example",  # decomposed ü
            "h@bücher.example.",
        ) == {"h@xn--bcher-kva.example"}

    def test_it_reads_a_full_width_gmail_address_as_the_ascii_one(self) -> None:
        full_width = email_canonical("ｊａｎｅ．ｄｏｅ＠ｇｍａｉｌ．ｃｏｍ")
        assert full_width == email_canonical("janedoe@gmail.com") == "janedoe@gmail.com"
        assert email_canonical("ｊａｎｅｄｏｅ＠ｇｍａｉｌ．ｃｏｍ") == "janedoe@gmail.com"

    def test_it_takes_ideographic_full_stops_as_dots(self) -> None:
        assert one_form("h@bücher。example", "h@bücher｡example", "h@bücher．example") == {"h@xn--bcher-kva.example"}
        assert email_canonical("jane。doe@gmail。com") == "janedoe@gmail.com"
        assert email_canonical("jane。doe@example。org") == "jane.doe@example.org"

    def test_it_removes_zero_width_characters(self) -> None:
        assert one_form(
            "h@b\u200dücher.example", "h@bü\u200bcher.example", "\ufeffh@bücher.example", "h\u2060@bücher\u200c.example"
        ) == {"h@xn--bcher-kva.example"}
        assert email_canonical("jane\u200bdoe@gmail.com") == "janedoe@gmail.com"

    def test_it_keeps_distinct_mailboxes_distinct(self) -> None:
        distinct = [
            "jane.doe@example.org", "janedoe@example.org", "jane+tag@example.org", "jane@example.org",
            "h@bücher.example", "h@bucher.example", "h@bücher.example.org", "janedoe@gmail.co", "janedoe@gmai1.com",
            "faß@example.org", "h@faß.example", "h@fass.example",
        ]
        assert len({email_canonical(address) for address in distinct}) == len(distinct)
        assert email_canonical("jane+tag@example.org") == "jane+tag@example.org"

    def test_it_gives_the_domain_for_limits_and_blocklists(self) -> None:
        spellings = [
            "h@bücher.example", "H@XN--BCHER-KVA.EXAMPLE", "ｈ＠ｂüｃｈｅｒ．ｅｘａｍｐｌｅ", "h@b\u200dücher。example",
        ]
        for address in spellings:
            assert email_domain(address) == "xn--bcher-kva.example"
        assert email_domain("Jane@GoogleMail.com") == "gmail.com"
        assert email_domain("not an address") == ""
        typed_by_staff = [
            "bücher.example", "@Bücher.example", ".BÜCHER.EXAMPLE", " ＠ｂüｃｈｅｒ．ｅｘａｍｐｌｅ ",
            "xn--bcher-kva.example.",
        ]
        for typed in typed_by_staff:
            assert domain_canonical(typed) == "xn--bcher-kva.example"
        assert domain_canonical("@googlemail.com") == "gmail.com"

    def test_it_keeps_what_idna_refuses_but_still_folds_it(self) -> None:
        assert email_canonical("Jane@Under_Score.Example") == "jane@under_score.example"
        assert email_canonical("Jane@ＵＮＤＥＲ_ｓｃｏｒｅ.example") == "jane@under_score.example"
        assert email_canonical("no-at-sign") == "no-at-sign"
        assert email_canonical("") == ""

    def test_it_gives_an_address_an_esp_without_smtputf8_can_deliver(self) -> None:
        assert email_for_sending("  Amira@Bücher.Example ") == "Amira@xn--bcher-kva.example"
        assert email_for_sending("Ｊａｎｅ．Ｄｏｅ＋ｘ＠ｇｏｏｇｌｅｍａｉｌ．ｃｏｍ") == "Jane.Doe+x@googlemail.com"
        assert email_for_sending("h@b\u200dücher。example") == "h@xn--bcher-kva.example"
        assert email_for_sending("Jane@Under_Score.Example") == "Jane@Under_Score.Example"
        assert email_for_sending("no-at-sign") == "no-at-sign"

    @_HYPOTHESIS
    @given(junk)
    def test_it_is_idempotent_and_never_raises(self, text: str) -> None:
        canonical = email_canonical(text)
        assert email_canonical(canonical) == canonical
        assert email_domain(canonical) == email_domain(text)
        domain = domain_canonical(text)
        assert domain_canonical(domain) == domain
        sending = email_for_sending(text)
        assert email_for_sending(sending) == sending
        # What is sent to is the same mailbox as what is compared.
        assert email_canonical(sending) == canonical

    @_HYPOTHESIS
    @given(junk)
    def test_it_always_satisfies_the_lowercase_check_constraint(self, text: str) -> None:
        canonical = email_canonical(text)
        assert canonical == canonical.lower()
        assert canonical == unicodedata.normalize("NFKC", canonical)
        assert email_domain(text) == email_domain(text).lower()
        assert domain_canonical(text) == domain_canonical(text).lower()

    @_HYPOTHESIS
    @given(junk)
    def test_it_puts_email_domain_after_the_at_sign(self, text: str) -> None:
        canonical = email_canonical(text)
        if "@" in canonical:
            assert canonical.rpartition("@")[2] == email_domain(text)

    @_HYPOTHESIS
    @given(
        st.text(alphabet="abcXYZ019._-+", min_size=1, max_size=12),
        st.sampled_from(["gmail.com", "bücher.example", "example.org", "outlook.com"]),
    )
    def test_it_maps_full_width_spellings_like_their_ascii(self, local: str, domain: str) -> None:
        address = f"{local}@{domain}"
        full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in address)
        assert email_canonical(full_width) == email_canonical(address)
        assert email_canonical(address.upper()) == email_canonical(address)


# The data migration ------------------------------------------------------

_migration = importlib.import_module("petitions.migrations.0010_addresses_idna")


@pytest.fixture
def rows(db):
    """Two petitions' worth of rows stored under the old rule."""
    from petitions.models import ConsentWording, Petition

    letter = ConsentWording.objects.filter(kind="letter").first() or ConsentWording.objects.create(
        kind="letter", version=1, text="Send the letter in my name."
    )
    petitions = [
        Petition.objects.create(
            slug=f"address-rule-{n}", title="T", body="B", letter_subject="S", letter_greeting="G", letter_body="L"
        )
        for n in (1, 2)
    ]
    return petitions, letter


def test_the_migration_rewrites_stored_addresses_and_resolves_collisions(rows) -> None:
    from petitions.models import (
        BlockedSource,
        EspEvent,
        Letter,
        Mailing,
        MailingRecipient,
        Signature,
        Suppression,
        Target,
    )

    (petition, other), letter = rows
    now = timezone.now()

    def signature(email: str, normalized: str, minutes_ago: int, on=petition, **fields) -> Signature:
        return Signature.objects.create(
            petition=on, first_name="H", last_name="B", email=email, email_normalized=normalized,
            email_domain=normalized.rpartition("@")[2], country="DE", letter_consent=letter,
            created_at=now - timedelta(minutes=minutes_ago), **fields,
        )

    # Three spellings of one mailbox on one petition; the second is the earliest.
    punycode = signature("h@xn--bcher-kva.example", "h@xn--bcher-kva.example", 10, state="confirmed")
    unicode = signature("h@bücher.example", "h@bücher.example", 30, state="confirmed")
    full_width = signature("ｈ＠ｂüｃｈｅｒ．ｅｘａｍｐｌｅ", "ｈ＠ｂüｃｈｅｒ．ｅｘａｍｐｌｅ", 5)
    # The same mailbox on another petition is that petition's one signature.
    elsewhere = signature("H@Bücher.example", "h@bücher.example", 1, on=other)
    untouched = signature("amira@example.org", "amira@example.org", 20)
    erased = signature("", "erased-0123@erased.invalid", 40)
    target = Target.objects.create(name="Minister", email="minister@example.org")
    queued = Letter.objects.create(
        signature=punycode, target=target, subject="S", body="B", from_name="H B", reply_to="h@example.org"
    )

    two_days_ago = now - timedelta(days=2)
    Suppression.objects.create(email_normalized="h@bücher.example", reason="bounced", created_at=two_days_ago)
    Suppression.objects.create(email_normalized="h@xn--bcher-kva.example", reason="unsubscribed", created_at=now)
    mailing = Mailing.objects.create(petition=petition, subject="News", body="Body")
    first_recipient = MailingRecipient.objects.create(
        mailing=mailing, email="H@BÜCHER.example", email_normalized="h@bücher.example"
    )
    second_recipient = MailingRecipient.objects.create(
        mailing=mailing, email="h@xn--bcher-kva.example", email_normalized="h@xn--bcher-kva.example"
    )
    event = EspEvent.objects.create(event_id="e1", event_type="bounced", recipient="jane.doe@gmail.com")
    BlockedSource.objects.create(kind="domain", value="bücher.example", created_at=now - timedelta(days=1))
    BlockedSource.objects.create(kind="domain", value="xn--bcher-kva.example", created_at=now)
    BlockedSource.objects.create(kind="email", value="Jane.Doe@GoogleMail.com")
    BlockedSource.objects.create(kind="ip_range", value="203.0.113.0/24")

    _migration.addresses_recanonicalise(apps, None)

    def state(row: Signature) -> tuple:
        row.refresh_from_db()
        return row.state, row.email_normalized, row.email_domain, row.invalidated_reason

    reason = "Same mailbox as an earlier signature (address rule, IDN domains)."
    assert state(unicode) == ("confirmed", "h@xn--bcher-kva.example", "xn--bcher-kva.example", "")
    assert state(punycode) == (
        "invalidated", f"h@xn--bcher-kva.example#duplicate-{punycode.pk}", "xn--bcher-kva.example", reason
    )
    assert state(full_width) == (
        "invalidated", f"h@xn--bcher-kva.example#duplicate-{full_width.pk}", "xn--bcher-kva.example", reason
    )
    assert punycode.invalidated_at is not None
    assert state(elsewhere) == ("pending", "h@xn--bcher-kva.example", "xn--bcher-kva.example", "")
    assert state(untouched) == ("pending", "amira@example.org", "example.org", "")
    assert state(erased)[1] == "erased-0123@erased.invalid"
    queued.refresh_from_db()
    assert queued.state == "cancelled"

    # The oldest suppression is kept, under the canonical address.
    suppressions = list(Suppression.objects.values_list("email_normalized", "reason"))
    assert suppressions == [("h@xn--bcher-kva.example", "bounced")]
    first_recipient.refresh_from_db()
    second_recipient.refresh_from_db()
    assert (first_recipient.email_normalized, first_recipient.state) == ("h@xn--bcher-kva.example", "pending")
    assert (second_recipient.email_normalized, second_recipient.state, second_recipient.error) == (
        f"duplicate-{second_recipient.pk}", "skipped", "Same mailbox as another recipient."
    )
    event.refresh_from_db()
    assert event.recipient == "janedoe@gmail.com"
    assert sorted(BlockedSource.objects.values_list("kind", "value")) == [
        ("domain", "xn--bcher-kva.example"), ("email", "janedoe@gmail.com"), ("ip_range", "203.0.113.0/24")
    ]
    assert BlockedSource.objects.get(kind="domain").created_at == now - timedelta(days=1)

    # Running it again changes nothing.
    before = list(Signature.objects.order_by("pk").values())
    _migration.addresses_recanonicalise(apps, None)
    assert list(Signature.objects.order_by("pk").values()) == before
