"""OpenRosa 1.0 endpoints, as ODK Collect, KoboCollect and Enketo speak them.

Point a client at ``https://<host>/openrosa`` (it appends ``/formList`` and
``/submission`` itself) with a ProPoor username and password.

- ``GET  formList`` — the forms the user may fill (``?formID=`` narrows it);
- ``GET  forms/<form_id>/<version>/form.xml`` — the XForm;
- ``GET  forms/<form_id>/<version>/manifest`` — its media files;
- ``GET  forms/<form_id>/<version>/media/<name>`` — one media file;
- ``HEAD submission`` — pre-flight: 204 with ``X-OpenRosa-Accept-Content-Length``;
- ``POST submission`` — multipart/form-data with ``xml_submission_file`` and the
  attachments as further file parts: 201 when received, 202 when it had already
  been received (the same ``instanceID``: ODK Collect re-sends after a lost answer
  and splits large submissions over several POSTs), the error's status otherwise.

Every answer carries ``X-OpenRosa-Version: 1.0`` and ``Date``; errors carry an
``<OpenRosaResponse>`` whose message the client shows. Authentication is HTTP Digest
or Basic with the user's own credentials (``surveys.auth``), never the session, so
the endpoints are exempt from CSRF. The views only parse and render: the area scope,
validation and storage are the selectors' and ``submission_receive``'s.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from propoor.core.errors import ApplicationError
from propoor.surveys import selectors, services
from propoor.surveys.auth import authenticate_request, challenges

if TYPE_CHECKING:
    from django.http import HttpRequest

    from propoor.surveys.models import FormVersion

OPENROSA_VERSION = "1.0"
XFORMS_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
SUBMISSION_FIELD = "xml_submission_file"
XML_ROOM = 1024 * 1024

View = Callable[..., HttpResponse]


class OpenRosaResponse(HttpResponse):
    """An XML answer that may repeat a header.

    Django keeps one value per header name; a 401 must offer two
    ``WWW-Authenticate`` challenges (Digest and Basic) as separate headers, which
    the WSGI and ASGI handlers emit from :meth:`items`.
    """

    def __init__(self, body: str = "", *, status: int = 200) -> None:
        super().__init__(
            (XML_DECLARATION + body).encode("utf-8") if body else b"",
            status=status,
            content_type=XML_CONTENT_TYPE,
        )
        self.repeated_headers: list[tuple[str, str]] = []

    def items(self) -> Iterable[tuple[str, str]]:  # type: ignore[override]
        return [*super().items(), *self.repeated_headers]


def accept_content_length() -> int:
    """The largest request (XML and attachments of one POST) we accept.

    Room for one attachment of the largest size the service keeps
    (``PROPOOR_SURVEY_MAX_ATTACHMENT``) and the XML: ODK Collect splits a larger
    submission over several POSTs carrying the same instanceID.
    """
    return int(settings.PROPOOR_SURVEY_MAX_ATTACHMENT) + XML_ROOM


def _message(status: int, text: str, *, nature: str) -> OpenRosaResponse:
    body = (
        f'<OpenRosaResponse xmlns="{RESPONSE_NS}">'
        f'<message nature="{nature}">{escape(text)}</message>'
        "</OpenRosaResponse>\n"
    )
    return OpenRosaResponse(body, status=status)


def error_response(status: int, text: str) -> OpenRosaResponse:
    return _message(status, text, nature="error")


def describe_error(exc: ApplicationError) -> str:
    """What a client shows: every problem with the answer it concerns.

    The services list problems in ``extra["errors"]`` (``[{"field", "message"}]``,
    or ``{field: [messages]}``); without them, the error's message.
    """
    errors = exc.extra.get("errors")
    lines: list[str] = []
    if isinstance(errors, dict):
        for name, problems in errors.items():
            items = problems if isinstance(problems, list | tuple) else [problems]
            lines.extend(f"{name}: {p}" for p in items)
    elif isinstance(errors, list | tuple):
        for problem in errors:
            if isinstance(problem, dict):
                where = str(problem.get("field") or "")
                what = str(problem.get("message") or "")
                lines.append(f"{where}: {what}" if where and what else what)
            else:
                lines.append(str(problem))
    lines = [line for line in lines if line]
    if not lines:
        return exc.message
    return " ".join(line if line.endswith(".") else f"{line}." for line in lines)


def _finish(response: HttpResponse) -> HttpResponse:
    response["X-OpenRosa-Version"] = OPENROSA_VERSION
    response["Date"] = http_date()
    response["Cache-Control"] = "no-store"
    return response


def _unauthorized(*, stale: bool) -> OpenRosaResponse:
    response = error_response(401, _("Log in with your ProPoor username and password."))
    digest, *others = challenges(stale=stale)
    response["WWW-Authenticate"] = digest
    response.repeated_headers.extend(("WWW-Authenticate", c) for c in others)
    return response


def openrosa_view(*methods: str) -> Callable[[View], View]:
    """Allow ``methods``, require Digest/Basic credentials, answer OpenRosa."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(
            request: HttpRequest, *args: object, **kwargs: object
        ) -> HttpResponse:
            if request.method not in methods:
                refused = error_response(
                    405,
                    _("This address does not accept %(method)s.")
                    % {"method": request.method},
                )
                refused["Allow"] = ", ".join(methods)
                return _finish(refused)
            outcome = authenticate_request(request)
            if outcome.user is None:
                return _finish(_unauthorized(stale=outcome.stale))
            request.user = outcome.user
            try:
                response = view(request, *args, **kwargs)
            except ApplicationError as exc:
                response = error_response(exc.status, describe_error(exc))
            return _finish(response)

        return wrapper

    return decorate


def _version_urls(
    request: HttpRequest, form_id: str, version: FormVersion
) -> tuple[str, str]:
    args = (form_id, version.version)
    return (
        request.build_absolute_uri(reverse("openrosa:form_download", args=args)),
        request.build_absolute_uri(reverse("openrosa:form_manifest", args=args)),
    )


@openrosa_view("GET", "HEAD")
def form_list(request: HttpRequest) -> HttpResponse:
    forms = selectors.form_list(request.user)
    wanted = request.GET.get("formID")
    if wanted is not None:
        forms = forms.filter(form_id=wanted)
    rows = []
    for form in forms:
        for version in form.current_versions[:1]:
            download_url, manifest_url = _version_urls(request, form.form_id, version)
            rows.append(
                "<xform>"
                f"<formID>{escape(form.form_id)}</formID>"
                f"<name>{escape(form.title)}</name>"
                f"<version>{escape(version.version)}</version>"
                f"<hash>md5:{escape(version.md5)}</hash>"
                f"<downloadUrl>{escape(download_url)}</downloadUrl>"
                f"<manifestUrl>{escape(manifest_url)}</manifestUrl>"
                "</xform>"
            )
    body = f'<xforms xmlns="{XFORMS_LIST_NS}">' + "".join(rows) + "</xforms>\n"
    return OpenRosaResponse(body)


@openrosa_view("GET", "HEAD")
def form_download(request: HttpRequest, form_id: str, version: str) -> HttpResponse:
    found = selectors.form_version_get(request.user, form_id, version)
    response = HttpResponse(found.xform.encode("utf-8"), content_type=XML_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{form_id}.xml"'
    return response


@openrosa_view("GET", "HEAD")
def form_manifest(request: HttpRequest, form_id: str, version: str) -> HttpResponse:
    """The form's media files: none, so far.

    A form version holds its XLSForm and XForm only (the shipped questionnaires use
    no pictures or CSV lookups), so every manifest is empty; a form's media would
    be listed here as ``<mediaFile>`` entries (filename, ``md5:`` hash, downloadUrl
    under ``media/``).
    """
    selectors.form_version_get(request.user, form_id, version)
    return OpenRosaResponse(f'<manifest xmlns="{MANIFEST_NS}"></manifest>\n')


@openrosa_view("GET", "HEAD")
def form_media(
    request: HttpRequest, form_id: str, version: str, name: str
) -> HttpResponse:
    """One media file of a form; as forms carry none (see the manifest), a 404."""
    selectors.form_version_get(request.user, form_id, version)
    return error_response(
        404, _("This form has no media file named %(name)s.") % {"name": name}
    )


@openrosa_view("HEAD", "POST")
def submission(request: HttpRequest) -> HttpResponse:
    limit = accept_content_length()
    if request.method == "HEAD":
        preflight = HttpResponse(status=204)
        preflight["X-OpenRosa-Accept-Content-Length"] = str(limit)
        return preflight
    response = _receive(request, limit)
    response["X-OpenRosa-Accept-Content-Length"] = str(limit)
    return response


def _receive(request: HttpRequest, limit: int) -> HttpResponse:
    if request.content_type != "multipart/form-data":
        return error_response(
            415,
            _("Send the survey as multipart/form-data, not %(type)s.")
            % {"type": request.content_type or _("an empty body")},
        )
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return error_response(413, _too_large(length, limit))
    try:
        files = request.FILES
    except RequestDataTooBig:
        return error_response(413, _too_large(length, limit))
    except (MultiPartParserError, SuspiciousOperation) as exc:
        return error_response(
            400, _("The request could not be read: %(error)s") % {"error": exc}
        )
    uploads = files.getlist(SUBMISSION_FIELD)
    if len(uploads) != 1:
        return error_response(
            400,
            _("Send exactly one %(field)s part with the survey's XML.")
            % {"field": SUBMISSION_FIELD},
        )
    xml = uploads[0].read()
    attachments = [
        services.IncomingAttachment(
            name=upload.name or field,
            content_type=upload.content_type or "application/octet-stream",
            data=upload.read(),
        )
        for field, parts in files.lists()
        if field != SUBMISSION_FIELD
        for upload in parts
    ]
    received = services.submission_receive(
        user=request.user, xml=xml, attachments=attachments
    )
    if received.duplicate:
        return _message(
            202,
            _("This survey had already been received; it is kept once."),
            nature="submit_success",
        )
    return _message(
        201,
        _("Survey received; it waits for review before it changes the registry."),
        nature="submit_success",
    )


def _too_large(length: int, limit: int) -> str:
    return _(
        "The submission is %(size).1f MiB; this server accepts at most "
        "%(limit).1f MiB per request."
    ) % {"size": length / 1048576, "limit": limit / 1048576}
