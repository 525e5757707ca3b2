from django.contrib.auth import views as auth_views
from django.urls import path

from eduplatform.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.two_factor, name="two_factor"),
    path("two-factor/", views.two_factor_setup, name="two_factor_setup"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("security/", views.security, name="security"),
    path("security/sessions/end-others/", views.sessions_end_others, name="sessions_end_others"),
    path("sessions/<int:session_id>/end/", views.session_end, name="session_end"),
    path("users/", views.users, name="users"),
    path("pick/users/", views.pick_users, name="pick_users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:user_id>/", views.user_detail, name="user"),
    path("users/<int:user_id>/revoke/", views.user_revoke_role, name="user_revoke_role"),
    path("users/<int:user_id>/security/", views.user_security_action, name="user_security_action"),
    path("users/<int:user_id>/reset-password/", views.user_reset_password, name="user_reset_password"),
    path("lockouts/", views.lockouts, name="lockouts"),
    path("audit/", views.audit_log, name="audit_log"),
]
