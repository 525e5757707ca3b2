"""The page cache and the interface language (docs/i18n.md): a page or download kept in the cache is
kept once per language. Apart from tests/test_i18n.py, whose demo province (module-wide) would collide
with the ``world`` fixture's schools."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.test_base_tables_by_level import levels  # noqa: F401 (a county with a census snapshot)


@pytest.mark.django_db
def test_a_cached_download_is_kept_once_per_language(client, world, levels):  # noqa: F811
    # The portal's CSV of a published snapshot comes from the page cache (stats/page_cache.py), bytes
    # and all: a reader who switched to English must not be served the file a Chinese reader put there,
    # nor the other way round.
    from tests.census_support import signed_off_and_published

    signed_off_and_published(levels.snapshot, actor=world.user("province"))
    url = reverse("portal:csv", args=(levels.snapshot.census_date.year,))
    assert "教职工" in client.get(url).content.decode("utf-8-sig")  # computed, then kept
    assert "教职工" in client.get(url).content.decode("utf-8-sig")  # from the cache
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = client.get(url).content.decode("utf-8-sig")
    assert "Staff" in english and "教职工" not in english
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "教职工" in client.get(url).content.decode("utf-8-sig")
