"""The name/sex/birth-date index holds only students without an ID number: the one query that uses
it (students/duplicates.py) asks for those alone, and every documented student registered no longer
writes a random leaf page of it (on the 27.5-million-student province, about a third of the random
index pages an import touched). Building it reads the student table once (minutes at province scale,
writes to the student table wait meanwhile)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0001_initial'),
        ('students', '0006_student_mailing_and_household_address'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='student',
            name='student_name_birth_sex',
        ),
        migrations.AddIndex(
            model_name='student',
            index=models.Index(condition=models.Q(('id_number_index', '')), fields=['name', 'birth_date', 'gender'], name='undocumented_name_birth_sex'),
        ),
    ]
