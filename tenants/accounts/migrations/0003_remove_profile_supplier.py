# Profile.supplier was copied to suppliers.SupplierUser by suppliers/0003.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_remove_profile_supplier_iff_supplier_role'),
        ('suppliers', '0003_supplier_user'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='profile',
            name='supplier',
        ),
    ]
