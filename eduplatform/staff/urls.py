from django.urls import path

from eduplatform.web import views as web

app_name = "staff"

# Placeholders until the staff pages exist (issue 4).
urlpatterns = [
    path("", web.placeholder_view("staff"), name="list"),
    path("administrators/", web.placeholder_view("administrators"), name="administrators"),
]
