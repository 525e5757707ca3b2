"""The base tables (基表) of the official statistics system, generated from a census snapshot, one
module per series: ``basic`` (基础基, basic education)."""

from eduplatform.stats.basetables.basic import (
    AGE_BANDS,
    CLASS_TABLES,
    OUTSIDE_HEADCOUNT,
    POSTS,
    SOURCES,
    BaseTable,
    Finding,
    _check_schools,
    check,
    every_school,
    generate,
    school_tables,
)

__all__ = ["AGE_BANDS", "CLASS_TABLES", "OUTSIDE_HEADCOUNT", "POSTS", "SOURCES", "BaseTable", "Finding", "_check_schools",
           "check", "every_school", "generate", "school_tables"]
