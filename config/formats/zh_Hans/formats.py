"""Number formats for Simplified Chinese as statistical tables print them: 1,234,567 (Django's own
zh_Hans has no separator and groups by four). Dates and times stay Django's."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403 — everything else unchanged

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
