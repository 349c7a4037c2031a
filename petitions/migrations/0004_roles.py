"""Creates the staff roles (see petitions/roles.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from petitions.roles import ROLES, roles_ensure


def roles_create(apps, schema_editor):
    # Permissions are normally created after all migrations have run; the
    # groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    # Not strict: roles name permissions of models that later migrations create.
    roles_ensure(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), strict=False)


def roles_remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("petitions", "0003_staff_control"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(roles_create, roles_remove)]
