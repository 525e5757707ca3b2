"""plausibility rules (owned by the rules helper)."""
