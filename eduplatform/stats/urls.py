from django.urls import path

from eduplatform.stats import analysis_views, pivot_views, views

app_name = "stats"

urlpatterns = [
    path("", views.live, name="live"),
    path("pivot/", pivot_views.pivot_page, name="pivot"),
    path("indicators/", views.indicator_page, name="indicators"),
    path("class-sizes/", analysis_views.class_size_page, name="class_sizes"),
    path("analyses/", analysis_views.analysis_list, name="analyses"),
    path("analyses/save/", analysis_views.analysis_save, name="analysis_save"),
    path("analyses/<int:analysis_id>/", analysis_views.analysis_open, name="analysis"),
    path("analyses/<int:analysis_id>/change/", analysis_views.analysis_change, name="analysis_change"),
    path("map/", views.province_map, name="map"),
    path("staffing/", views.staffing_page, name="staffing"),
    path("projection/", views.projection_page, name="projection"),
    path("snapshots/", views.snapshot_list, name="snapshots"),
    path("snapshots/<int:snapshot_id>/", views.snapshot_detail, name="snapshot"),
    path("snapshots/<int:snapshot_id>/tables/", views.base_tables, name="base_tables"),
    path("snapshots/<int:snapshot_id>/publish/", views.snapshot_publish, name="publish"),
]
