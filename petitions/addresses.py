"""Email addresses as the same mailbox: the form under which two spellings
count as one signer, for the one-signature-per-address rule and suppression."""

# Providers that ignore dots in the local part and everything after a "+".
_DOTS_AND_PLUS_IGNORED = {"gmail.com", "googlemail.com"}
# Providers that deliver "name+tag@" to "name@".
_PLUS_IGNORED = {
    "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
    "protonmail.com", "proton.me", "pm.me", "fastmail.com", "fastmail.fm", "yandex.com", "zoho.com",
}
_DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}


def email_canonical(email):
    """Lower-cased and trimmed; for providers that ignore them, without dots or plus-tags."""
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    domain = _DOMAIN_ALIASES.get(domain, domain)
    if domain in _DOTS_AND_PLUS_IGNORED or domain in _PLUS_IGNORED:
        local = local.split("+", 1)[0] or local
    if domain in _DOTS_AND_PLUS_IGNORED:
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


def email_domain(email):
    return email.strip().lower().rpartition("@")[2]
