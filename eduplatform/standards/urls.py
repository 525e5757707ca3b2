from django.urls import path

from eduplatform.standards import views

app_name = "standards"

urlpatterns = [
    path("", views.dictionary, name="dictionary"),
    path("<slug:table_key>/", views.table, name="table"),
]
