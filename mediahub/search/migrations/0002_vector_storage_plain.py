from django.db import migrations


class Migration(migrations.Migration):
    """Vectors stay in the row instead of the TOAST table (1.5 kB each, above its ~2 kB row limit
    with the text): a search reads each HNSW candidate's distance from the row, and an exact
    ranking reads every vector of the tenant; out of line, each one costs extra random pages."""

    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE search_embedding ALTER COLUMN vector SET STORAGE PLAIN",
            reverse_sql="ALTER TABLE search_embedding ALTER COLUMN vector SET STORAGE EXTENDED",
        )
    ]
