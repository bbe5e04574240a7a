"""The "Moderators" group: staff in it work the report queue and nothing else.

The permission list is the single source for the data migration that creates the group and for
the checks in ``moderation.services``.
"""

from __future__ import annotations

from typing import Any

MODERATORS_GROUP = "Moderators"

# Service permission checks (codename as ``app_label.codename``).
PERM_WORK_REPORTS = "moderation.change_report"
PERM_APPLY_SANCTION = "moderation.add_sanction"
PERM_LIFT_SANCTION = "moderation.change_sanction"
PERM_END_ROOM = "moderation.end_room"

# Exactly what the admin workflow needs: read the queue and act on reports, apply and lift
# sanctions, end a live room, read the audit log, and look members up (raw-id pickers, the
# target's history). No delete anywhere: the record of what happened stays.
MODERATOR_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("moderation", "view_report"),
    ("moderation", "change_report"),
    ("moderation", "end_room"),
    ("moderation", "view_sanction"),
    ("moderation", "add_sanction"),
    ("moderation", "change_sanction"),
    ("moderation", "view_auditlog"),
    ("accounts", "view_user"),
)


def ensure_moderators_group(apps: Any) -> Any:
    """Create (or reset) the group with exactly ``MODERATOR_PERMISSIONS``.

    ``apps`` is a migration's historical registry or ``django.apps.apps``. Permissions are
    normally created after migrations run, so on a fresh database they are created here first.
    """
    from django.contrib.auth.management import create_permissions

    for label in {app for app, _ in MODERATOR_PERMISSIONS}:
        app_config = apps.get_app_config(label)
        # Historical app configs have no models_module and create_permissions skips those.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = original

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.get_or_create(name=MODERATORS_GROUP)
    wanted = []
    for app_label, codename in MODERATOR_PERMISSIONS:
        wanted.append(
            permission_model.objects.get(content_type__app_label=app_label, codename=codename)
        )
    group.permissions.set(wanted)
    return group
