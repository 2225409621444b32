"""OpenRosa endpoints, mounted at ``openrosa/`` (see ``surveys.openrosa``)."""

from __future__ import annotations

from django.urls import path

from propoor.surveys import openrosa

app_name = "openrosa"
urlpatterns = [
    path("formList", openrosa.form_list, name="form_list"),
    path(
        "forms/<str:form_id>/<str:version>/form.xml",
        openrosa.form_download,
        name="form_download",
    ),
    path(
        "forms/<str:form_id>/<str:version>/manifest",
        openrosa.form_manifest,
        name="form_manifest",
    ),
    path(
        "forms/<str:form_id>/<str:version>/media/<str:name>",
        openrosa.form_media,
        name="form_media",
    ),
    path("submission", openrosa.submission, name="submission"),
]
