"""URLs of the form designer, form JSON import/export and the completeness pages."""

from django.urls import path

from eduplatform.reporting import design_views as views

urlpatterns: list = [
    path("designer/", views.designer, name="designer"),
    path("designer/new/", views.designer_new, name="designer_new"),
    path("designer/import/", views.designer_import, name="designer_import"),
    path("designer/<int:version_id>/", views.designer_edit, name="designer_edit"),
    path("designer/<int:version_id>/check/", views.designer_check, name="designer_check"),
    path("designer/<int:version_id>/preview/", views.designer_preview, name="designer_preview"),
    path("designer/<int:version_id>/publish/", views.designer_publish, name="designer_publish"),
    path("designer/<int:version_id>/new-version/", views.designer_new_version, name="designer_new_version"),
    path("designer/<int:version_id>/json/", views.designer_json, name="form_json"),
    path("tasks/<int:task_id>/completeness/", views.completeness, name="completeness"),
]
