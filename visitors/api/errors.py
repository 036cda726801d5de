"""One error shape for every answer that is not a success:

    {"error": {"code": "validation_error", "message": "…", "fields": {"first_name": ["…"]}}}

``fields`` is present only for validation errors and names each field as the request did
(``reason_ids.0`` for the first item of a list). Django forms, pydantic and ninja's own errors are
all turned into it here, so no endpoint builds an error by hand.
"""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

logger = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
    429: "rate_limited",
}
# Every operation may answer these; each adds the ones its own rules produce (409).
COMMON = (400, 401, 403, 404, 422, 429)


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(Schema):
    error: ErrorBody


class ApiError(Exception):
    """Raise to answer with the error shape."""

    def __init__(self, status: int, message: str, *, code: str = "", fields=None):
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.fields = fields


def responses(ok: dict, *extra: int) -> dict:
    """An operation's documented answers: its successes and every error it can give."""
    return ok | dict.fromkeys(sorted({*COMMON, *extra}), ErrorOut)


def body(status: int, message: str, *, code: str = "", fields=None) -> dict:
    error = {"code": code or CODES.get(status, "error"), "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def field_name(loc) -> str:
    """("body", "payload", "reason_ids", 0) → "reason_ids.0"; the request's own names."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "form", "cookie"):
        source = parts.pop(0)
        if source == "body" and parts:
            parts.pop(0)  # the view's parameter name, not part of the document
    return ".".join(str(p) for p in parts) or "body"


def form_fields(form, rename: dict | None = None) -> dict[str, list[str]]:
    """A Django form's errors under the API's field names ("__all__" becomes "non_field")."""
    rename = rename or {}
    out: dict[str, list[str]] = {}
    for name, errors in form.errors.items():
        key = "non_field" if name == "__all__" else rename.get(name, name)
        out.setdefault(key, []).extend(str(e) for e in errors)
    return out


def install(api) -> None:
    """Answer every error of ``api`` in the one shape."""

    def respond(request, status, message, *, code="", fields=None) -> HttpResponse:
        return api.create_response(
            request, body(status, message, code=code, fields=fields), status=status
        )

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc.status, exc.message, code=exc.code, fields=exc.fields)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields: dict[str, list[str]] = {}
        malformed = False
        for error in exc.errors:
            if error.get("type") == "json_invalid":
                malformed = True
            fields.setdefault(field_name(error.get("loc", ())), []).append(error.get("msg", ""))
        if malformed:
            return respond(request, 400, "The request body is not valid JSON.")
        return respond(request, 422, "Some fields are not valid; see fields.", fields=fields)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = respond(
            request, 401, "Send a valid, unrevoked token: Authorization: Bearer <token>."
        )
        response["WWW-Authenticate"] = 'Bearer realm="frontdesk"'
        return response

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        response = respond(request, 429, "Too many requests for this token; slow down.")
        # Seconds until this token's window turns (TokenThrottle keeps them on the request).
        response["Retry-After"] = str(getattr(request, "api_retry_after", 60))
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return respond(request, exc.status_code, str(exc))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, "Not found.")

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return respond(request, 413, "The request body is too large.")

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        return respond(request, 400, "The request could not be read.")

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
        return respond(request, 500, "Something went wrong on our side.", code="server_error")
