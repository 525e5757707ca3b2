from django.urls import path  # noqa: F401

app_name = "exchange_clients"
urlpatterns: list = []
