from django.urls import path

from eduplatform.funding import views

app_name = "funding"

# Mounted under /statistics/ beside the other calculators.
urlpatterns = [
    path("funding/", views.allocation_page, name="allocation"),
    path("funding/rates/", views.rates_page, name="rates"),
]
urlpatterns += [
    path("higher-education/", views.higher_ed_page, name="higher_ed"),
    path("higher-education/<str:school_code>/", views.higher_ed_school, name="higher_ed_school"),
]
