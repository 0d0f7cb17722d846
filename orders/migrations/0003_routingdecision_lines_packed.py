from django.db import migrations

import orders.models


class Migration(migrations.Migration):
    """RoutingDecision.lines: jsonb to zlib-packed JSON in a bytea (see PackedJSONField).

    Existing rows keep their JSON as plain text, which the field reads as well.
    """

    dependencies = [
        ("orders", "0002_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql="ALTER TABLE orders_routingdecision ALTER COLUMN lines TYPE bytea USING convert_to(lines::text, 'UTF8')",
            # Packed rows are not UTF-8 text: going back fails loudly rather than losing them.
            reverse_sql="ALTER TABLE orders_routingdecision ALTER COLUMN lines TYPE jsonb USING convert_from(lines, 'UTF8')::jsonb",
            state_operations=[
                migrations.AlterField(
                    model_name="routingdecision",
                    name="lines",
                    field=orders.models.PackedJSONField(default=list),
                ),
            ],
        ),
    ]
