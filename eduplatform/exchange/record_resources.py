"""The record resources of the API (students, staff, buildings …), registered from the import kinds."""
