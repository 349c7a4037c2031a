from django.core.management.base import BaseCommand

from petitions.services.content import petition_seed_load


class Command(BaseCommand):
    help = "Create the campaign's petition, recipients and consent wordings if missing. Safe to run again."

    def handle(self, *args, **options):
        petition, created = petition_seed_load()
        verb = "Loaded" if created else "Already present:"
        self.stdout.write(f"{verb} petition '{petition.title}' ({petition.slug})")
