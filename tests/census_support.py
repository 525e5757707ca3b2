"""Census snapshots the way reporting leaves them: signed off by the province before publication.

The census sign-off chain (each school confirms, county → city → province approve) lives in
reporting; when the province approves, it calls ``stats.snapshots.record_census_signoff`` — the same
call these helpers make, so a test that publishes goes through the real gate of ``publish_snapshot``.
"""

from __future__ import annotations

from eduplatform.orgs.scope import Actor
from eduplatform.stats.models import Snapshot
from eduplatform.stats.snapshots import publish_snapshot, record_census_signoff


def signed_off(snapshot: Snapshot, *, actor: Actor) -> Snapshot:
    """``snapshot`` as the province's approval of its census sign-off task leaves it."""
    return record_census_signoff(actor=actor, snapshot=snapshot)


def signed_off_and_published(snapshot: Snapshot, *, actor: Actor) -> Snapshot:
    """Sign off (as reporting's province approval does), then publish — both as ``actor``."""
    return publish_snapshot(actor=actor, snapshot=signed_off(snapshot, actor=actor))
