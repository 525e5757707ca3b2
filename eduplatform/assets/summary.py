"""The summary holdings a register gives at a date: the rules of ``assets.codes`` as one query.

Used by the services (to store the yearly ``AssetHoldings`` of register schools) and by the summary
page (the register's figures today). Callers have already checked the school is in scope.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

from django.db.models import Q, Sum, Value
from django.db.models.functions import Coalesce

from eduplatform.assets import codes
from eduplatform.assets.models import Equipment

CENT = decimal.Decimal("0.01")


@dataclass(frozen=True)
class RegisterFigures:
    books_volumes: int
    computers_for_teaching: int
    multimedia_classrooms: int
    teaching_equipment_value: decimal.Decimal
    register_value: decimal.Decimal  # every held item: the register's share of 固定资产总值


def held_at(as_of: dt.date) -> Q:
    """Items bought on or before ``as_of`` and not disposed of by then."""
    return Q(purchased_on__lte=as_of) & (Q(disposed_on__isnull=True) | Q(disposed_on__gt=as_of))


def register_figures(school_id: int, *, as_of: dt.date) -> RegisterFigures:
    # Status is the item's present one: a computer counted as 在用 at an earlier census date is the
    # best the register knows (it keeps no status history beyond the disposal date).
    teaching_in_use = Q(for_teaching=True, status=codes.IN_USE)

    def total(field: str, condition: Q) -> Coalesce:
        return Coalesce(Sum(field, filter=condition), Value(0), output_field=Equipment._meta.get_field(field))

    row = Equipment.objects.filter(held_at(as_of), school_id=school_id).aggregate(
        books=total("quantity", Q(category=codes.BOOKS)),
        computers=total("quantity", teaching_in_use & Q(category=codes.COMPUTERS)),
        classrooms=total("quantity", teaching_in_use & Q(category=codes.MULTIMEDIA_SETS)),
        teaching=total("value", Q(for_teaching=True)),
        everything=total("value", Q()),
    )
    return RegisterFigures(
        books_volumes=int(row["books"]), computers_for_teaching=int(row["computers"]),
        multimedia_classrooms=int(row["classrooms"]),
        teaching_equipment_value=decimal.Decimal(row["teaching"]).quantize(CENT),
        register_value=decimal.Decimal(row["everything"]).quantize(CENT),
    )


def keeps_register(school_id: int) -> bool:
    """A school keeps a register once any line was written to it (disposed lines included)."""
    return Equipment.objects.filter(school_id=school_id).exists()
