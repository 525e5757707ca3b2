"""completeness rules (owned by the rules helper)."""
