"""Names of the capabilities the organization services check on an actor (``actor.can(name)``).

Roles map to capabilities in ``accounts.roles``; keeping the names here lets ``orgs`` check them
without importing ``accounts``, which sits above it.
"""

VIEW_RECORDS = "records.view"
MANAGE_SCHOOLS = "orgs.manage_schools"  # create, edit, close schools in the actor's jurisdiction
EDIT_OWN_SCHOOL = "orgs.edit_own_school"  # a school's contact details, by its own clerk
MANAGE_REGIONS = "orgs.manage_regions"  # rename or merge divisions
EDIT_STUDENTS = "students.edit"  # register students, record events, apply for transfers (a school's clerk)
REVIEW_STUDENT_CHANGES = "students.review"  # approve or return transfers and dropouts (a bureau)
PROMOTE_STUDENTS = "students.promote"  # year-end promotion for a school or a region
EDIT_STAFF = "staff.edit"  # a unit's staff records: hire, edit, events, apply for transfers
REVIEW_STAFF_CHANGES = "staff.review"  # approve or return staff transfers (a bureau)
EDIT_ADMINISTRATORS = "administrators.edit"  # education administrators of the actor's own bureau or department
EDIT_FACILITIES = "facilities.edit"  # land parcels and buildings (校舍) of a school
EDIT_ASSETS = "assets.edit"  # equipment register and summary holdings of a school
TAKE_SNAPSHOTS = "stats.snapshot"  # freeze the official census snapshot (the province's statistics office)
EDIT_FUNDING_RATES = "funding.edit_rates"  # per-student funding rates (生均公用经费定额): the province's finance office
DESIGN_FORMS = "reporting.design_forms"  # supplementary statistical forms: design, publish, import (the province)
MANAGE_REPORT_TASKS = "reporting.manage_tasks"  # collection tasks: create, open, close, reopen for a school
REVIEW_REPORTS = "reporting.review"  # approve or return submissions, approve or unapprove a region node
FILL_REPORTS = "reporting.fill"  # a school's entry: save, submit, 零上报
RESOLVE_QUALITY = "quality.resolve"  # a school answers its data-quality issues: explain, correct, delete
REVIEW_QUALITY = "quality.review"  # a bureau confirms or reopens them, keeps one of a duplicate person, runs scans
MANAGE_API_CLIENTS = "exchange.manage_clients"  # register, grant, suspend external systems (the security administrator)
