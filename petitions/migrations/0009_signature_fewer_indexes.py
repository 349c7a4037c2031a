"""Drop the five single-column indexes Django made for Signature's foreign keys.

Every signature writes every index of its table. The petition's column leads
three composite indexes already, and nothing ever deletes a consent wording or
a moderation decision (the admin refuses), which is all an index on those
columns would serve. Only the indexes go: Django's own AlterField would also
drop and re-add each foreign-key constraint, and re-adding one checks every
row of the table while signing waits.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('petitions', '0008_outbox_batch'),
    ]

    # The names Django gave these indexes in 0001, the same on every database.
    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "petitions_signature_last_decision_id_6ee7e1d2"',
                    'CREATE INDEX IF NOT EXISTS "petitions_signature_last_decision_id_6ee7e1d2" ON "petitions_signature" ("last_decision_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "petitions_signature_letter_consent_id_7d14b26a"',
                    'CREATE INDEX IF NOT EXISTS "petitions_signature_letter_consent_id_7d14b26a" ON "petitions_signature" ("letter_consent_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "petitions_signature_petition_id_5a17fa21"',
                    'CREATE INDEX IF NOT EXISTS "petitions_signature_petition_id_5a17fa21" ON "petitions_signature" ("petition_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "petitions_signature_reply_consent_id_ed86b749"',
                    'CREATE INDEX IF NOT EXISTS "petitions_signature_reply_consent_id_ed86b749" ON "petitions_signature" ("reply_consent_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "petitions_signature_updates_consent_id_872b5a41"',
                    'CREATE INDEX IF NOT EXISTS "petitions_signature_updates_consent_id_872b5a41" ON "petitions_signature" ("updates_consent_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='signature',
                    name='last_decision',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='petitions.moderationdecision'),
                ),
                migrations.AlterField(
                    model_name='signature',
                    name='letter_consent',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='petitions.consentwording'),
                ),
                migrations.AlterField(
                    model_name='signature',
                    name='petition',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='signatures', to='petitions.petition'),
                ),
                migrations.AlterField(
                    model_name='signature',
                    name='reply_consent',
                    field=models.ForeignKey(blank=True, db_index=False, help_text='Set when the signer let recipients reply to them.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='petitions.consentwording'),
                ),
                migrations.AlterField(
                    model_name='signature',
                    name='updates_consent',
                    field=models.ForeignKey(blank=True, db_index=False, help_text='Set when the signer asked for campaign updates.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='petitions.consentwording'),
                ),
            ],
        ),
    ]
