"""The learner's pages: catalogue, course, lesson player, quiz, progress, certificates.

Mobile first, and usable offline once a course is downloaded: a service worker (served
from /training/sw.js, scope /training/) keeps the pages, and ``training.js`` keeps
what the learner does offline (lessons read, quiz attempts) in an outbox on the phone
and sends it to ``POST /api/v1/training/sync`` when the phone is back online. Every
page also works without JavaScript: "Mark as read" and the quiz are plain forms
posted here.

Each view validates its input, calls one selector (or, for a POST, the services) and
renders the result. Errors of the services are shown with their status; a certificate,
an attempt or a course the user may not see is 404 (``web.views.page``).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import IO, TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from propoor.core.errors import ApplicationError, NotFound
from propoor.training import pdf, services
from propoor.training.models import Lesson
from propoor.training.selectors import learner as selectors
from propoor.training.selectors.catalogue import course_get
from propoor.training.services.curriculum import IMAGES
from propoor.web.views import page

if TYPE_CHECKING:
    from propoor.accounts.models import User

SYNC_URL = "/api/v1/training/sync"
COURSE_API = "/api/v1/training/courses/"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "training"
# What every training page needs, cached by the service worker when it installs.
SHELL = (
    "propoor/site.css",
    "propoor/favicon.svg",
    "vendor/htmx.min.js",
    "training/training.css",
    "training/training.js",
    "training/quiz.js",
)
IMAGE_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}
IMAGE_MAX_AGE = 30 * 24 * 3600
QUESTION_KEY = re.compile(r"^q[0-9]{1,3}$")
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
PDF = "application/pdf"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # login_required guarantees it


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _download(response: HttpResponse, filename: str) -> HttpResponse:
    response.headers["Content-Disposition"] = (
        content_disposition_header(True, filename) or "attachment"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _strings() -> dict[str, str]:
    """What training.js and quiz.js say, in the page's language."""
    return {
        "saved": _("Saved on this phone — it will be sent when you are back online."),
        "sending": _("Sending…"),
        "synced": _("Synced"),
        "waiting": _("Waiting to be sent: %(n)s"),
        "downloading": _("Saving for offline use…"),
        "downloaded": _("Saved on this phone: you can open it without a signal."),
        "download_failed": _(
            "Some pages could not be saved. Try again where the signal is better."
        ),
        "no_offline": _("This browser cannot keep courses for offline use."),
        "read": _("Read"),
        "read_offline": _(
            "Marked as read on this phone — it will be sent when you are back online."
        ),
        "unanswered": _(
            "Questions not answered: %(n)s. Press the button again to send anyway."
        ),
        "passed": _("Passed"),
        "failed": _("Not passed yet"),
        "score": _("Score %(score)s / %(max)s (%(percent)s%%)"),
        "stale": _("The quiz changed after this phone saved it; please take it again."),
        "refused": _("The answers were not accepted:"),
    }


def _config(request: HttpRequest, **extra: object) -> dict[str, Any]:
    """The settings of the page's scripts (rendered with json_script)."""
    user = request.user
    return {
        "user": user.pk if user.is_authenticated else None,
        "household": getattr(user, "household_id", None) is not None,
        "syncUrl": SYNC_URL,
        "swUrl": reverse("training:service_worker"),
        "scope": reverse("training:catalogue"),
        "strings": _strings(),
        **extra,
    }


def _render(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    **config: object,
) -> HttpResponse:
    context = {"training_config": _config(request, **config), **context}
    return render(request, f"training/learner/{template}", context, status=status)


# --------------------------------------------------------------------- catalogue


@page
@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    cards = selectors.catalogue(_user(request))
    return _render(
        request,
        "catalogue.html",
        {
            "cards": cards,
            "invited": [c for c in cards if c.invited],
            "others": [c for c in cards if not c.invited],
            "is_household": getattr(request.user, "household_id", None) is not None,
        },
    )


# --------------------------------------------------------------------- offline support


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, with the URLs it needs (static URLs may carry a hash)."""
    source = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    config = {
        "shell": [static(path) for path in SHELL] + [reverse("training:offline")],
        "offline": reverse("training:offline"),
        "scope": reverse("training:catalogue"),
        "sync": SYNC_URL,
        "courseApi": COURSE_API,
        "static": static(""),
    }
    encoded = json.dumps(config, sort_keys=True)
    version = hashlib.sha256((encoded + source).encode()).hexdigest()[:12]
    body = f"const CONFIG = {encoded};\nconst VERSION = {json.dumps(version)};\n\n"
    response = HttpResponse(
        body + source, content_type="application/javascript; charset=utf-8"
    )
    response.headers["Service-Worker-Allowed"] = reverse("training:catalogue")
    response.headers["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """Shown by the service worker for a page that is not saved on the phone.

    It is cached once for everyone who uses the phone, so it shows no account.
    """
    return _render(
        request, "offline.html", {"user": AnonymousUser()}, user=None, household=False
    )


def _image_names() -> set[str]:
    return {path.name for path in IMAGES.iterdir() if path.is_file()}


@require_GET
def curriculum_image(request: HttpRequest, name: str) -> HttpResponseBase:
    """A curriculum image, only by the name of a file in the images folder."""
    content_type = IMAGE_TYPES.get(PurePath(name).suffix.lower())
    if content_type is None or name not in _image_names():
        raise Http404(_("No such image."))
    response = FileResponse((IMAGES / name).open("rb"), content_type=content_type)
    response.headers["Cache-Control"] = f"public, max-age={IMAGE_MAX_AGE}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if content_type == "image/svg+xml":
        # An SVG opened on its own is a document: no scripts, nothing fetched.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; sandbox"
        )
    return response


# --------------------------------------------------------------------- a course


@page
@require_GET
def course_detail(request: HttpRequest, code: str) -> HttpResponse:
    outline = selectors.course_outline(_user(request), code)
    return _render(
        request,
        "course.html",
        {"outline": outline, "course": outline.course},
        course=code,
        api=f"{COURSE_API}{code}",
        courseUrl=reverse("training:course", args=[code]),
        title=outline.course.t("title"),
    )


@page
@require_GET
def handout(request: HttpRequest, code: str) -> HttpResponse:
    """Every lesson of the course in one PDF, in the page's language, to print."""
    course = course_get(code)
    language = "en" if (get_language() or "").startswith("en") else "zh-hans"
    lessons = Lesson.objects.filter(course=course).order_by("order")
    today = timezone.localdate()
    document = pdf.HandoutDoc(
        course_title=course.t("title"),
        language=language,
        lessons=tuple(
            pdf.HandoutLesson(lesson.t("title"), lesson.minutes, lesson.t("body"))
            for lesson in lessons
        ),
        images_dir=IMAGES,
        footer=f"{_('ProPoor')} · {_('E-commerce training')} · {today.isoformat()}",
    )
    response = HttpResponse(pdf.handout_pdf(document), content_type=PDF)
    return _download(response, f"{course.code}-{language}.pdf")


# --------------------------------------------------------------------- a lesson


@page
@require_http_methods(["GET", "POST"])
def lesson(request: HttpRequest, code: str, slug: str) -> HttpResponse:
    """The lesson player; POST marks the lesson read (the household's own login)."""
    user = _user(request)
    error = ""
    status = 200
    if request.method == "POST":
        course, row = selectors.lesson_get(code, slug)
        try:
            enrolment = services.enrolment_for(user, course)
            services.lesson_complete(enrolment, row)
        except ApplicationError as exc:
            if _wants_json(request):
                return JsonResponse(exc.as_dict(), status=exc.status)
            error, status = exc.message, exc.status
        else:
            if _wants_json(request):
                return JsonResponse({"done": True})
            following = (
                Lesson.objects.filter(course=course, order__gt=row.order)
                .order_by("order")
                .first()
            )
            if following is None:
                return redirect("training:course", code=code)
            return redirect("training:lesson", code=code, slug=following.slug)
    lesson_page = selectors.lesson_page(user, code, slug)
    return _render(
        request,
        "lesson.html",
        {"page": lesson_page, "course": lesson_page.course, "error": error},
        status=status,
        course=code,
        lesson=slug,
    )


def _chunks(handle: IO[bytes], length: int, size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while length > 0:
            chunk = handle.read(min(size, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()


@login_required
@require_GET
def lesson_video(request: HttpRequest, code: str, slug: str) -> HttpResponseBase:
    """The lesson's video, with byte ranges (phones seek, and some play only so)."""
    try:
        _course, row = selectors.lesson_get(code, slug)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if not row.video:
        raise Http404(_("This lesson has no video."))
    size = row.video.size
    content_type = mimetypes.guess_type(row.video.name or "")[0] or "video/mp4"
    handle = row.video.open("rb")
    wanted = RANGE.match(request.headers.get("Range", "").strip())
    response: HttpResponseBase
    if wanted is not None and (wanted[1] or wanted[2]):
        if wanted[1]:
            start = int(wanted[1])
            end = min(int(wanted[2]) if wanted[2] else size - 1, size - 1)
        else:  # "bytes=-500": the last 500 bytes
            start, end = max(size - int(wanted[2]), 0), size - 1
        if start > end:
            handle.close()
            response = HttpResponse(status=416)
            response.headers["Content-Range"] = f"bytes */{size}"
            return response
        handle.seek(start)
        response = StreamingHttpResponse(
            _chunks(handle, end - start + 1), status=206, content_type=content_type
        )
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        response.headers["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(handle, content_type=content_type)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# --------------------------------------------------------------------- the quiz


def _answers(post: Any) -> dict[str, list[str]]:
    return {key: post.getlist(key) for key in post if QUESTION_KEY.match(key)}


@page
@require_http_methods(["GET", "POST"])
def quiz(request: HttpRequest, code: str) -> HttpResponse:
    """The quiz. quiz.js sends it through the sync API (or keeps it offline); without
    JavaScript the form is posted here. ``?attempt=<id>`` shows a graded attempt."""
    user = _user(request)
    error = ""
    status = 200
    if request.method == "POST":
        course = course_get(code)
        try:
            attempt_id = uuid.UUID(request.POST.get("attempt_id", ""))
            version = int(request.POST.get("quiz_version", ""))
        except ValueError:
            error, status = _("The form was not complete; please try again."), 422
        else:
            try:
                enrolment = services.enrolment_for(user, course)
                services.attempt_submit(
                    enrolment,
                    attempt_id=attempt_id,
                    quiz_version=version,
                    answers=_answers(request.POST),
                )
            except ApplicationError as exc:
                error, status = exc.message, exc.status
            else:
                url = reverse("training:quiz", args=[code])
                return redirect(f"{url}?attempt={attempt_id}")
    quiz_page = selectors.quiz_page(user, code, request.GET.get("attempt", ""))
    return _render(
        request,
        "quiz.html",
        {
            "page": quiz_page,
            "course": quiz_page.course,
            "error": error,
            "attempt_id": uuid.uuid4(),
        },
        status=status,
        course=code,
        quizUrl=reverse("training:quiz", args=[code]),
        quizVersion=quiz_page.quiz.version,
    )


# --------------------------------------------------------------------- progress


@page
@require_GET
def my_progress(request: HttpRequest) -> HttpResponse:
    rows = selectors.my_progress(_user(request))
    return _render(request, "progress.html", {"rows": rows})


@page
@require_GET
def certificate_pdf(request: HttpRequest, code: str) -> HttpResponse:
    certificate = selectors.certificate_for(_user(request), code)
    if certificate.revoked_at is not None:
        return _render(
            request, "revoked.html", {"certificate": certificate}, status=410
        )
    enrolment = certificate.enrolment
    document = pdf.CertificateDoc(
        code=certificate.code,
        learner=services.mask_name(enrolment.household.head_name),
        village=enrolment.household.village.name,
        course_zh=enrolment.course.title_zh,
        course_en=enrolment.course.title_en,
        issued_on=certificate.issued_on,
        issuer=certificate.issuer,
        verify_url=services.verify_url(certificate.code),
    )
    response = HttpResponse(pdf.certificate_pdf(document), content_type=PDF)
    return _download(response, f"{certificate.code}.pdf")


@require_GET
def verify(request: HttpRequest, code: str = "") -> HttpResponse:
    """Public: anyone holding a certificate's code can check it (no login)."""
    code = (code or request.GET.get("code", "")).strip()[:60]
    verification = services.certificate_verify(code) if code else None
    english = (get_language() or "").startswith("en")
    return _render(
        request, "verify.html", {"code": code, "v": verification, "english": english}
    )


# --------------------------------------------------------------------- check-in


@page
@require_http_methods(["GET", "POST"])
def checkin(request: HttpRequest, token: str) -> HttpResponse:
    """A household scans the session's QR code, sees the session and confirms."""
    user = _user(request)
    error = ""
    status = 200
    done = None
    if request.method == "POST":
        try:
            _attendance, created = services.checkin(user, token)
        except ApplicationError as exc:
            if exc.status == 404:
                raise
            error, status = exc.message, exc.status
        else:
            done = "new" if created else "again"
    session = selectors.checkin_session(user, token)
    return _render(
        request,
        "checkin.html",
        {"s": session, "error": error, "done": done},
        status=status,
    )
