from django.urls import path

from eduplatform.imports import views

app_name = "imports"

urlpatterns = [
    path("jobs/<int:job_id>/", views.job_page, name="job"),
    path("jobs/<int:job_id>/progress/", views.job_progress, name="progress"),
    path("jobs/<int:job_id>/problems.xlsx", views.job_problems, name="problems"),
    path("jobs/<int:job_id>/commit/", views.job_commit, name="commit"),
    path("<slug:import_kind>/", views.upload, name="upload"),
    path("<slug:import_kind>/template.xlsx", views.template_download, name="template"),
]
