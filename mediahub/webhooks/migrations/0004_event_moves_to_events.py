import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """``Event`` now belongs to the ``events`` app (same table): repoint the delivery's foreign key."""

    dependencies = [
        ("webhooks", "0003_delivery_endpoint_due_index"),
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="event",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="events.event",
                    ),
                ),
                migrations.DeleteModel(name="Event"),
            ]
        ),
    ]
