from django.urls import path

from eduplatform.facilities import views

app_name = "facilities"

urlpatterns = [
    path("", views.building_list, name="list"),
    path("new/", views.building_create, name="create"),
    path("buildings/<int:building_id>/", views.building_detail, name="detail"),
    path("buildings/<int:building_id>/edit/", views.building_edit, name="edit"),
    path("buildings/<int:building_id>/demolish/", views.building_demolish, name="demolish"),
    path("land/", views.parcel_list, name="land"),
    path("land/new/", views.parcel_create, name="land_create"),
    path("land/<int:parcel_id>/", views.parcel_detail, name="parcel"),
    path("land/<int:parcel_id>/edit/", views.parcel_edit, name="parcel_edit"),
    path("land/<int:parcel_id>/retire/", views.parcel_retire, name="parcel_retire"),
    path("summary/", views.own_summary, name="summary"),
    path("schools/<str:school_code>/", views.school_summary, name="school"),
]
