from django.urls import path

from eduplatform.students import views

app_name = "students"

# A student is addressed by the opaque ``public_id`` (a UUID), never by the 学籍号: a G number is the
# ID number, and a URL ends up in access logs and browser history.
urlpatterns = [
    path("", views.student_list, name="list"),
    path("new/", views.student_create, name="create"),
    path("classes/", views.class_list, name="classes"),
    path("transfers/new/", views.transfer_create, name="transfer_create"),
    path("requests/", views.request_list, name="requests"),
    path("requests/<int:request_id>/", views.request_detail, name="request"),
    path("requests/<int:request_id>/decide/", views.request_decide, name="request_decide"),
    path("requests/<int:request_id>/withdraw/", views.request_withdraw, name="request_withdraw"),
    path("inbox/", views.inbox, name="inbox"),
    path("promotion/", views.promotion_index, name="promotion"),
    path("promotion/preview/", views.promotion_preview, name="promotion_preview"),
    path("promotion/execute/", views.promotion_execute, name="promotion_execute"),
    path("promotion/batches/<int:batch_id>/undo/", views.promotion_undo, name="promotion_undo"),
    path("import/", views.import_index, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/<int:job_id>/", views.import_job, name="import_job"),
    path("import/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("import/<int:job_id>/problems.xlsx", views.import_problems, name="import_problems"),
    path("import/<int:job_id>/commit/", views.import_commit, name="import_commit"),
    path("<uuid:student_ref>/", views.student_detail, name="detail"),
    path("<uuid:student_ref>/reveal/", views.student_reveal, name="reveal"),
    path("<uuid:student_ref>/edit/", views.student_edit, name="edit"),
    path("<uuid:student_ref>/events/new/", views.event_create, name="event_create"),
    path("<uuid:student_ref>/dropout/", views.dropout_create, name="dropout"),
    path("<uuid:student_ref>/id-number/", views.id_number_correct, name="id_number"),
    path("<uuid:student_ref>/replace-number/", views.number_replace, name="replace_number"),
    path("<uuid:student_ref>/class/", views.class_assign, name="assign_class"),
]
