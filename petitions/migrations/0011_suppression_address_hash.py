"""Suppressions keep a keyed hash of their address, which erasure leaves behind
(it clears the address itself), so an erased signer's bounce or complaint
still blocks mail to them."""

from django.db import migrations, models

from petitions.addresses import address_hash


def hashes_fill(apps, schema_editor):
    Suppression = apps.get_model("petitions", "Suppression")
    for suppression in Suppression.objects.filter(address_hash__isnull=True).exclude(email_normalized=None).iterator(
        chunk_size=2000
    ):
        Suppression.objects.filter(pk=suppression.pk).update(address_hash=address_hash(suppression.email_normalized))


class Migration(migrations.Migration):
    dependencies = [("petitions", "0010_addresses_idna")]

    operations = [
        migrations.AlterField(
            model_name="suppression",
            name="email_normalized",
            field=models.CharField(blank=True, max_length=254, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="suppression",
            name="address_hash",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True),
        ),
        migrations.RunPython(hashes_fill, migrations.RunPython.noop),
    ]
