"""The issues waiting on a school (to correct or explain) and on a county (to confirm), as inbox sources."""
