import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """The ``Event`` model moves here from ``webhooks``; its table (``webhooks_event``) stays."""

    initial = True

    dependencies = [
        ("tenants", "0001_initial"),
        ("webhooks", "0003_delivery_endpoint_due_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Event",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                            ),
                        ),
                        ("type", models.CharField(max_length=64)),
                        ("data", models.JSONField()),
                        (
                            "created_at",
                            models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                        ),
                        (
                            "tenant",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="tenants.tenant",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "webhooks_event",
                        "ordering": ["-created_at"],
                        "indexes": [
                            models.Index(
                                fields=["tenant", "type", "-created_at"], name="webhooks_ev_tenant__a2f4d9_idx"
                            )
                        ],
                    },
                ),
            ]
        ),
    ]
