"""Creates the staff roles (see petitions/roles.py)."""

from django.db import migrations

from petitions.roles import ROLES, roles_migrate


def roles_create(apps, schema_editor):
    # Not strict: roles name permissions of models that later migrations create.
    roles_migrate(apps, strict=False)


def roles_remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("petitions", "0003_staff_control"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(roles_create, roles_remove)]
