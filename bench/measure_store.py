"""The selectors behind the overview, the indicators, the map and a snapshot page, timed for the
province and for Guangzhou, live and from the latest snapshot (issue 13 item 2).

    PROVINCE_DATABASE_URL=postgres://…/eduplatform_x .venv/bin/python bench/measure_store.py

Read-only. As the province officer (``province``): ``region_overview`` (the live page's overview and,
twice — snapshot and live baseline — the snapshot page), ``region_indicators`` (indicator page, and
the map: its data is the province's indicators per city) and ``balance`` for one county. Median
and max of RUNS warm runs, in ms. ``BENCH_CODE_ROOT`` runs another checkout's code (a before/after
comparison on one database).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_CODE_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get("PROVINCE_DATABASE_URL",
                                            "postgres://postgres@127.0.0.1:5432/eduplatform_province")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def timed(fn) -> tuple[float, float]:
    fn()  # warm
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    runs.sort()
    return runs[len(runs) // 2], runs[-1]


def main() -> None:
    import django

    django.setup()
    from eduplatform.accounts.models import User
    from eduplatform.orgs.models import Region
    from eduplatform.orgs.stages import Stage
    from eduplatform.stats import indicators, selectors
    from eduplatform.stats.models import Snapshot

    user = User.objects.get(username="province")
    snapshot = Snapshot.objects.order_by("-taken_at").first()
    province, guangzhou = Region.objects.get(code="440000000000"), Region.objects.get(code="440100000000")
    county = Region.objects.get(code="440106000000")
    print(f"code: {ROOT}  database: {os.environ['DATABASE_URL'].rsplit('/', 1)[-1]}  snapshot: {snapshot}")
    print(f"{'figure':<44}{'median ms':>10}{'max ms':>10}")
    cases = []
    for region in (province, guangzhou):
        cases += [
            (f"region_overview {region.name} live", lambda r=region: selectors.region_overview(user, r)),
            (f"region_indicators {region.name} live", lambda r=region: indicators.region_indicators(user, r)),
            (f"region_overview {region.name} snapshot", lambda r=region: selectors.region_overview(user, r, snapshot)),
            (f"region_indicators {region.name} snapshot",
             lambda r=region: indicators.region_indicators(user, r, snapshot)),
            (f"snapshot page {region.name} (2 × overview)",
             lambda r=region: (selectors.region_overview(user, r, snapshot), selectors.region_overview(user, r))),
        ]
    cases += [
        ("map data (province indicators per city)", lambda: indicators.region_indicators(user, province)),
        (f"balance {county.name} live (2 stages)",
         lambda: [indicators.balance(user, county, s) for s in (Stage.PRIMARY, Stage.JUNIOR)]),
        (f"balance {county.name} snapshot (2 stages)",
         lambda: [indicators.balance(user, county, s, snapshot) for s in (Stage.PRIMARY, Stage.JUNIOR)]),
    ]
    for name, fn in cases:
        median, worst = timed(fn)
        print(f"{name:<44}{median:>10.1f}{worst:>10.1f}", flush=True)


if __name__ == "__main__":
    main()
