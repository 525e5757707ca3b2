from django.urls import path

from eduplatform.stats import pivot_views, views

app_name = "stats"

urlpatterns = [
    path("", views.live, name="live"),
    path("pivot/", pivot_views.pivot_page, name="pivot"),
    path("indicators/", views.indicator_page, name="indicators"),
    path("map/", views.province_map, name="map"),
    path("staffing/", views.staffing_page, name="staffing"),
    path("projection/", views.projection_page, name="projection"),
    path("snapshots/", views.snapshot_list, name="snapshots"),
    path("snapshots/<int:snapshot_id>/", views.snapshot_detail, name="snapshot"),
    path("snapshots/<int:snapshot_id>/tables/", views.base_tables, name="base_tables"),
    path("snapshots/<int:snapshot_id>/publish/", views.snapshot_publish, name="publish"),
]
