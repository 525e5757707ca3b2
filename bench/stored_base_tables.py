"""基表 stored with the snapshot (issue 13, item 4): opening the province's and Guangzhou's 基表 page
(basic series) computed on the fly against read from the stored tables, and the time to store every
region's and school's tables of a snapshot.

    DATABASE_URL=… .venv/bin/python bench/stored_base_tables.py [--snapshot ID] [--store]

``--store`` (re)generates the snapshot's stored tables first and reports how long that took. Pages
are timed through Django's test client as the demo accounts ``province`` and ``gz_stat`` (median of
5 warm runs, the view cache cleared before each so the page is really computed or read).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/statistics.py would shadow the standard library's module: the project root takes bench/'s place.
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.core.cache import caches  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from eduplatform.accounts.models import User  # noqa: E402
from eduplatform.stats.basetables import stored  # noqa: E402
from eduplatform.stats.models import Snapshot, StoredBaseTables  # noqa: E402

RUNS = 5


def timed_pages(snapshot: Snapshot, label: str, *, cached: bool = False,
                readers: tuple = (("province", "440000000000"), ("gz_stat", "440100000000"))) -> dict[str, float]:
    out = {}
    for username, region in readers:
        client = Client()
        from bench.run import sign_in
        sign_in(client, User.objects.get(username=username))
        url = reverse("stats:base_tables", args=(snapshot.pk,))
        times = []
        for _ in range(RUNS + 1):  # the first run warms up
            if not cached:
                for cache in caches.all():
                    cache.clear()
            started = time.perf_counter()
            response = client.get(url, {"region": region, "series": "basic"})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        kept = response.context["kept"] if response.context else "?"
        median = statistics.median(times[1:])
        out[username] = median
        print(f"{label:<10} {username:<9} 基础基表 {region}: median {median:8.1f} ms "
              f"(min {min(times[1:]):.1f}, max {max(times[1:]):.1f}); stored read: {kept}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--snapshot", type=int)
    parser.add_argument("--store", action="store_true")
    parser.add_argument("--computed-only", action="store_true")
    args = parser.parse_args()
    snapshot = Snapshot.objects.get(pk=args.snapshot) if args.snapshot else Snapshot.objects.order_by("-taken_at").first()
    if args.store:
        StoredBaseTables.objects.filter(snapshot=snapshot).delete()
        started = time.perf_counter()
        run = stored.store(snapshot)
        print(f"stored {run.subjects:,} regions and schools × series in {time.perf_counter() - started:.1f} s")
    if args.computed_only or not StoredBaseTables.objects.filter(snapshot=snapshot).exists():
        print("computed (no stored tables)")
        timed_pages(snapshot, "computed")
        return
    timed_pages(snapshot, "stored")
    timed_pages(snapshot, "cached", cached=True)  # the same page opened again: from the page cache
    # A stage-limited reader (基础教育处, K-12) gets the tables computed for its scope; then cached.
    timed_pages(snapshot, "k12 comp.", readers=(("k12", "440000000000"),))
    timed_pages(snapshot, "k12 cache", cached=True, readers=(("k12", "440000000000"),))


if __name__ == "__main__":
    main()
