from django.urls import path

from eduplatform.imports import views

app_name = "imports"

urlpatterns = [
    path("jobs/<int:job_id>/", views.job_view, name="job"),
    path("jobs/<int:job_id>/progress/", views.progress_view, name="progress"),
    path("jobs/<int:job_id>/problems.xlsx", views.problems_view, name="problems"),
    path("jobs/<int:job_id>/commit/", views.commit_view, name="commit"),
    path("<slug:import_kind>/", views.upload_page, name="upload"),
    path("<slug:import_kind>/template.xlsx", views.template_page, name="template"),
]
