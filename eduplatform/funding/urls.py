from django.urls import path

from eduplatform.funding import views

app_name = "funding"

# Mounted under /statistics/ beside the other calculators.
urlpatterns = [
    path("funding/", views.allocation_page, name="allocation"),
    path("funding/rates/", views.rates_page, name="rates"),
]
