from django.core.management.base import BaseCommand

from petitions.services.privacy import signer_erase


class Command(BaseCommand):
    help = (
        "Erase a signer's personal data everywhere (signatures, letters, mail logs, supporter records), "
        "keeping the counts. Records that an erasure happened, not who asked."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The signer's address, in any spelling.")

    def handle(self, *args, email, **options):
        erased = signer_erase(email=email)
        if erased:
            self.stdout.write(f"Erased {erased} signature(s).")
        else:
            self.stdout.write("No signature with that address.")
