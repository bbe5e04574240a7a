from django.db import migrations


def create_group(apps, schema_editor):
    from moderation.permissions import ensure_moderators_group

    ensure_moderators_group(apps)


def remove_group(apps, schema_editor):
    from moderation.permissions import MODERATORS_GROUP

    apps.get_model("auth", "Group").objects.filter(name=MODERATORS_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0001_initial"),
        ("moderation", "0002_reports_auditlog"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
