"""URLs of the collection tasks, the school's entry page and the review chain."""

from django.urls import path

from eduplatform.reporting import views

urlpatterns: list = [
    path("", views.task_list, name="tasks"),
    path("tasks/new/", views.task_new, name="task_new"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/open/", views.task_open, name="task_open"),
    path("tasks/<int:task_id>/close/", views.task_close, name="task_close"),
    path("tasks/<int:task_id>/reopen/", views.task_reopen, name="task_reopen"),
    path("tasks/<int:task_id>/form.xlsx", views.task_download, name="task_download"),
    path("tasks/<int:task_id>/summary/", views.task_summary, name="summary"),
    path("tasks/<int:task_id>/schools.xlsx", views.task_schools_export, name="task_schools_export"),
    path("tasks/<int:task_id>/approve/", views.region_approve, name="region_approve"),
    path("tasks/<int:task_id>/unapprove/", views.region_unapprove, name="region_unapprove"),
    path("tasks/<int:task_id>/history/", views.region_history, name="region_history"),
    path("submissions/<int:submission_id>/", views.submission_detail, name="submission"),
    path("submissions/<int:submission_id>/entry/", views.entry, name="entry"),
    path("submissions/<int:submission_id>/save/", views.entry_save, name="entry_save"),
    path("submissions/<int:submission_id>/zero/", views.entry_zero, name="entry_zero"),
    path("submissions/<int:submission_id>/confirm/", views.census_confirm, name="census_confirm"),
    path("submissions/<int:submission_id>/review/", views.submission_review, name="review"),
    path("submissions/<int:submission_id>/unapprove/", views.submission_unapprove, name="submission_unapprove"),
    path("submissions/<int:submission_id>/history/", views.submission_history, name="history"),
    path("submissions/<int:submission_id>/form.xlsx", views.submission_download, name="download"),
    path("submissions/<int:submission_id>/blank.xlsx", views.submission_download_blank, name="download_blank"),
    path("submissions/<int:submission_id>/upload/", views.submission_upload, name="upload"),
]
