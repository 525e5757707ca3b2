from django.urls import path

from eduplatform.assets import views

app_name = "assets"

urlpatterns = [
    path("", views.equipment_list, name="list"),
    path("new/", views.equipment_create, name="create"),
    path("holdings/", views.holdings_list, name="holdings"),
    path("holdings/new/", views.holdings_type, name="holdings_type"),
    path("holdings/<int:holdings_id>/", views.holdings_detail, name="holdings_detail"),
    path("<int:equipment_id>/", views.equipment_detail, name="detail"),
    path("<int:equipment_id>/edit/", views.equipment_edit, name="edit"),
    path("<int:equipment_id>/dispose/", views.equipment_dispose, name="dispose"),
]
