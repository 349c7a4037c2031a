import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "On a local machine, create a staff login on first run and print it once."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("staff_local_create is for local use (DEBUG=1); use createsuperuser in production.")
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username="admin", email="admin@campaign.example.org", password=password)
        self.stdout.write(
            "Created a local staff login (shown only this once):\n"
            f"  username: admin\n  password: {password}\n"
            "Change it with: .venv/bin/python manage.py changepassword admin"
        )
