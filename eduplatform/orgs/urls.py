from django.urls import path

from eduplatform.orgs import views

app_name = "orgs"

urlpatterns = [
    path("", views.browse, name="browse"),
    path("regions/<str:region_code>/", views.region, name="region"),
    path("schools/", views.school_list, name="schools"),
    path("pick/schools/", views.pick_schools, name="pick_schools"),
    path("pick/units/", views.pick_units, name="pick_units"),
    path("pick/regions/", views.pick_regions, name="pick_regions"),
    path("pick/towns/", views.pick_towns, name="pick_towns"),
    path("pick/places/", views.pick_places, name="pick_places"),
    path("schools/new/", views.school_create, name="school_create"),
    path("schools/<str:school_code>/", views.school_detail, name="school"),
    path("schools/<str:school_code>/edit/", views.school_edit, name="school_edit"),
    path("schools/<str:school_code>/close/", views.school_close, name="school_close"),
]
