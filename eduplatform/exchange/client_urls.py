from django.urls import path
from oauth2_provider import views as oauth_views

from eduplatform.exchange import client_views as views

app_name = "exchange_clients"
urlpatterns = [
    path("", views.clients, name="list"),
    path("new/", views.client_register, name="register"),
    path("<int:client_id>/", views.client_detail, name="detail"),
    path("<int:client_id>/suspend/", views.client_suspend, name="suspend"),
    path("<int:client_id>/resume/", views.client_resume, name="resume"),
    path("<int:client_id>/rotate/", views.client_rotate, name="rotate"),
    path("<int:client_id>/traffic/", views.client_traffic, name="traffic"),
]

# Only the token endpoints of django-oauth-toolkit (config/urls.py mounts them under /oauth/):
# its application-management pages would let any signed-in user register a client, unaudited and
# outside the security administrator's hands; clients are registered on the pages above.
oauth_urlpatterns = [
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
]
