"""Survey pages, mounted at ``surveys/`` (namespace ``surveys``)."""

from __future__ import annotations

from django.urls import path

from propoor.surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.form_list, name="form_list"),
    path("forms/<slug:form_id>/", views.form_detail, name="form_detail"),
    path(
        "forms/<slug:form_id>/<str:version>/form.xlsx",
        views.form_download,
        {"kind": "xlsx"},
        name="form_xlsform",
    ),
    path(
        "forms/<slug:form_id>/<str:version>/form.xml",
        views.form_download,
        {"kind": "xml"},
        name="form_xform",
    ),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<int:change_id>/", views.change_detail, name="change_detail"),
    path(
        "review/<int:change_id>/approve/", views.change_approve, name="change_approve"
    ),
    path("review/<int:change_id>/reject/", views.change_reject, name="change_reject"),
    path("coverage/", views.coverage, name="coverage"),
    path(
        "submissions/<int:submission_id>/",
        views.submission_detail,
        name="submission_detail",
    ),
    path(
        "submissions/<int:submission_id>/attachments/<str:name>",
        views.attachment,
        name="attachment",
    ),
]
