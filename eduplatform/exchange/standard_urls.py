from django.urls import path

from eduplatform.exchange import standard_views

app_name = "exchange_standard"
urlpatterns: list = [
    path("", standard_views.standard_page, name="standard"),
    path("codes/<slug:table_key>/", standard_views.code_table_page, name="code_table"),
]
