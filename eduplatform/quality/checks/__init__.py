"""Every rule module registers its rules in ``rules.RULES`` when imported."""

from eduplatform.quality.checks import completeness, consistency, identity, plausibility  # noqa: F401
