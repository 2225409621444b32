from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from propoor.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("openrosa/", include("propoor.surveys.openrosa_urls")),
    path("surveys/", include("propoor.surveys.urls")),
    path("training/", include("propoor.training.urls")),
    path("market/", include("propoor.market.urls")),
    path("", include("propoor.web.urls")),
]
