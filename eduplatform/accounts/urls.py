from django.contrib.auth import views as auth_views
from django.urls import path

from eduplatform.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:user_id>/", views.user_detail, name="user"),
    path("users/<int:user_id>/revoke/", views.user_revoke_role, name="user_revoke_role"),
    path("audit/", views.audit_log, name="audit_log"),
]
