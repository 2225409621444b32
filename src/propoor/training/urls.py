from __future__ import annotations

from django.urls import path

from propoor.training.views import learner, staff

app_name = "training"
urlpatterns = [
    # Learner (mobile first, works offline once a course is downloaded)
    path("", learner.catalogue, name="catalogue"),
    path("sw.js", learner.service_worker, name="service_worker"),
    path("offline/", learner.offline, name="offline"),
    path("images/<str:name>", learner.curriculum_image, name="image"),
    path("courses/<slug:code>/", learner.course_detail, name="course"),
    path("courses/<slug:code>/handout.pdf", learner.handout, name="handout"),
    path("courses/<slug:code>/quiz/", learner.quiz, name="quiz"),
    path("courses/<slug:code>/lessons/<slug:slug>/", learner.lesson, name="lesson"),
    path(
        "courses/<slug:code>/lessons/<slug:slug>/video",
        learner.lesson_video,
        name="lesson_video",
    ),
    path("me/", learner.my_progress, name="me"),
    path(
        "certificates/<str:code>.pdf", learner.certificate_pdf, name="certificate_pdf"
    ),
    path("verify/", learner.verify, name="verify"),
    path("verify/<str:code>/", learner.verify, name="verify_code"),
    path("checkin/<str:token>/", learner.checkin, name="checkin"),
    # Trainers, cadres and the county
    path("trainer/", staff.trainer_dashboard, name="trainer"),
    path("cohorts/<int:cohort_id>/", staff.cohort_detail, name="cohort"),
    path("sessions/<int:session_id>/", staff.session_detail, name="session"),
    path("coverage/", staff.coverage, name="coverage"),
    path("outcomes/", staff.outcomes, name="outcomes"),
]
