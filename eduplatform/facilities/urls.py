from django.urls import path

from eduplatform.web import views as web

app_name = "facilities"

urlpatterns = [
    path("", web.placeholder_view("buildings"), name="list"),
]
