"""identity rules (owned by the rules helper)."""
