from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from propoor.web import views
from propoor.web.forms import LoginForm

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html",
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("households/", views.household_list, name="household_list"),
    path(
        "households/<int:household_id>/",
        views.household_detail,
        name="household_detail",
    ),
    path("villages/", views.village_list, name="village_list"),
    re_path(
        r"^villages/(?P<code>[0-9]{12})/$", views.village_detail, name="village_detail"
    ),
]
