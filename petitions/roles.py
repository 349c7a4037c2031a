"""The staff roles: groups whose permissions give each role only its tools.

Created by migration 0004; `roles_ensure` is also what the tests call, since
a test that empties the database empties the groups too.
"""

ROLES = {
    # Reviews and invalidates signatures and approves comments. Sees emails
    # only through the moderation tools that need them (blocklists, search by
    # exact address); cannot edit petitions or export data.
    "Moderator": [
        "view_petition", "view_signature", "change_signature", "moderate_signature", "view_letter",
        "view_moderationdecision", "view_ratelimit", "change_ratelimit", "view_blockedsource",
        "add_blockedsource", "change_blockedsource", "delete_blockedsource", "view_target",
        "view_disposabledomain", "add_disposabledomain", "change_disposabledomain", "delete_disposabledomain",
        "view_offlinebatch",
    ],
    # Edits petitions, recipients and updates; sees letters and suppressions.
    "Campaigner": [
        "view_petition", "change_petition", "add_petition", "view_demand", "add_demand", "change_demand",
        "delete_demand", "view_backgroundfact", "add_backgroundfact", "change_backgroundfact",
        "delete_backgroundfact", "view_target", "add_target", "change_target", "view_mailing", "add_mailing",
        "change_mailing", "view_letter", "change_letter", "view_suppression", "add_suppression",
        "view_consentwording", "add_consentwording",
        # The petition's words in other languages, and updates' translations.
        "view_petitiontranslation", "add_petitiontranslation", "change_petitiontranslation",
        "view_demandtranslation", "add_demandtranslation", "change_demandtranslation", "delete_demandtranslation",
        "view_backgroundfacttranslation", "add_backgroundfacttranslation", "change_backgroundfacttranslation",
        "delete_backgroundfacttranslation", "view_mailingtranslation", "add_mailingtranslation",
        "change_mailingtranslation", "delete_mailingtranslation",
        # Paper signatures from stalls and events, and the pack handed over in person.
        "view_offlinebatch", "add_offline_signatures", "view_handoverpack", "make_handover_pack",
        # Recipients' replies: review, approve (which sends them to supporters), and the auto-replies kept apart.
        "view_recipientreply", "change_recipientreply", "approve_recipientreply", "view_autoreply",
        # Recipients' daily digests.
        "view_digest",
        # Who runs the campaign, named on every page.
        "view_organisation", "add_organisation", "change_organisation",
    ],
}


def roles_ensure(group_model, permission_model, *, strict=True):
    """Create or correct the role groups. Idempotent. `strict=False` (for an
    early migration, before later models and their permissions exist) leaves
    out permissions that do not exist yet; a later migration adds them."""
    for name, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        permissions = list(permission_model.objects.filter(content_type__app_label="petitions", codename__in=codenames))
        missing = set(codenames) - {permission.codename for permission in permissions}
        assert not missing or not strict, f"unknown permissions for {name}: {missing}"
        group.permissions.set(permissions)


def roles_migrate(apps, *, strict=True):
    """roles_ensure from a migration: permissions are normally created after
    all migrations have run, and the groups need them now. ROLES is today's:
    a migration before the one creating a model must pass strict=False, as
    every migration does (tests check the roles strictly, roles_ensure)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_ensure(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), strict=strict)
