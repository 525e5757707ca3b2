"""Builders shared by the assets tests: register lines and the register's figures computed in Python,
independently of the service's query."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable

from eduplatform.assets import codes
from eduplatform.assets.models import Equipment


def line(number: str, **overrides: object) -> dict[str, str]:
    row = {"asset_number": number, "category": "04", "name": f"实验仪器{number}", "model": "JY-1",
           "quantity": "10", "unit_price": "150.50", "purchased_on": "2020-05-01", "funding_source": "1",
           "acquisition_mode": "1", "use_direction": "1", "status": "1", "location": "物理实验室"}
    row.update({k: str(v) for k, v in overrides.items()})
    return row


def expected_figures(items: Iterable[Equipment], as_of: dt.date) -> dict[str, object]:
    """The documented rules (assets.codes), item by item."""
    books = computers = classrooms = 0
    teaching = everything = decimal.Decimal("0.00")
    for e in items:
        if e.purchased_on > as_of or (e.disposed_on is not None and e.disposed_on <= as_of):
            continue
        everything += e.value
        counts = e.use_direction in ("1", "2") and e.category not in ("07", "08")
        if counts:
            teaching += e.value
        if e.category == "07":
            books += e.quantity
        if counts and e.status == "1" and e.category == "01":
            computers += e.quantity
        if counts and e.status == "1" and e.category == "03":
            classrooms += e.quantity
    return {"books_volumes": books, "computers_for_teaching": computers, "multimedia_classrooms": classrooms,
            "teaching_equipment_value": teaching, "register_value": everything}


def census_now(today: dt.date) -> dt.date:
    return codes.census_date(codes.statistical_year(today))
