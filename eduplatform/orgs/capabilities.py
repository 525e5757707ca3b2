"""Names of the capabilities the organization services check on an actor (``actor.can(name)``).

Roles map to capabilities in ``accounts.roles``; keeping the names here lets ``orgs`` check them
without importing ``accounts``, which sits above it.
"""

VIEW_RECORDS = "records.view"
MANAGE_SCHOOLS = "orgs.manage_schools"  # create, edit, close schools in the actor's jurisdiction
EDIT_OWN_SCHOOL = "orgs.edit_own_school"  # a school's contact details, by its own clerk
MANAGE_REGIONS = "orgs.manage_regions"  # rename or merge divisions
