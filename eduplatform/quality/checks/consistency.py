"""consistency rules (owned by the rules helper)."""
