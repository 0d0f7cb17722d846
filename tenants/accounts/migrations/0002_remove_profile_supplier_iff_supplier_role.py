# The supplier link moves to the suppliers app (suppliers.SupplierUser): first the
# constraint goes, then suppliers/0003 copies the links, then 0003 drops the field.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='profile',
            name='profile_supplier_iff_supplier_role',
        ),
    ]
