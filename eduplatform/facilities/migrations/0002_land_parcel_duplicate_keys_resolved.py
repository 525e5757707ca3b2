"""Before land parcels get their natural key (0003), parcels that would break it are made distinct
without losing anything: imports before the key created a new parcel on every re-import of a file
without 土地证号, so a school may hold the same 坐落 twice. The later parcel is renamed «主校区（2）» and
a certificate held twice in one school stays on the earliest parcel and moves into the others' 备注;
the school sees them in its list and retires the true duplicates (注销) through the service, audited.
"""

from django.db import migrations
from django.db.models import Count, Q


def resolve_duplicate_keys(apps, schema_editor):
    LandParcel = apps.get_model("facilities", "LandParcel")
    twice = (LandParcel.objects.exclude(certificate_number="").values("school_id", "certificate_number")
             .annotate(n=Count("id")).filter(n__gt=1))
    for group in twice:
        parcels = list(LandParcel.objects.filter(school_id=group["school_id"],
                                                 certificate_number=group["certificate_number"])
                       .order_by("id"))
        for parcel in parcels[1:]:
            note = f"原土地证号「{parcel.certificate_number}」与同校另一地块重复，迁移时移入备注"
            parcel.notes = f"{parcel.notes}；{note}"[:500] if parcel.notes else note
            parcel.certificate_number = ""
            parcel.save(update_fields=["notes", "certificate_number"])
    in_use = Q(retired_on__isnull=True)
    twice = LandParcel.objects.filter(in_use).values("school_id", "name").annotate(n=Count("id")).filter(n__gt=1)
    for group in twice:
        taken = set(LandParcel.objects.filter(in_use, school_id=group["school_id"]).values_list("name", flat=True))
        parcels = list(LandParcel.objects.filter(in_use, school_id=group["school_id"], name=group["name"]).order_by("id"))
        for parcel in parcels[1:]:
            n = 2
            while (candidate := f"{group['name'][:190]}（{n}）") in taken:
                n += 1
            taken.add(candidate)
            note = f"原名称「{parcel.name}」与同校另一在用地块重名，迁移时改名"
            parcel.notes = f"{parcel.notes}；{note}"[:500] if parcel.notes else note
            parcel.name = candidate
            parcel.save(update_fields=["notes", "name"])


class Migration(migrations.Migration):

    dependencies = [
        ("facilities", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(resolve_duplicate_keys, migrations.RunPython.noop),
    ]
