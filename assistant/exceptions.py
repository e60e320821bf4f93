"""One JSON error shape for the whole API:

{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"question": ["..."]}}}
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from assistant.tracebacks import safe_traceback

logger = logging.getLogger(__name__)


def error_body(
    status_code: int, code: str, message: str, fields: dict[str, Any] | None = None
) -> dict:
    body: dict[str, Any] = {"status": status_code, "code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def _as_strings(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _as_strings(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_as_strings(item) for item in detail]
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> Response:
    if isinstance(exc, ValidationError):
        fields = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(fields)
    elif isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(
                413, "request_too_large", "The request body is larger than this API accepts."
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = exception_handler(exc, context)
    if response is None:
        # The exception message may quote request content: log only where it came from.
        logger.error("unhandled API error: %s", safe_traceback(exc))
        return Response(
            error_body(500, "internal_error", "An internal error occurred; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, exceptions.ValidationError):
        detail = _as_strings(exc.detail)
        if not isinstance(detail, dict):
            detail = {"non_field_errors": detail if isinstance(detail, list) else [detail]}
        names = ", ".join(detail)
        response.data = error_body(
            response.status_code, "invalid", f"Invalid input: {names}.", detail
        )
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        message = str(getattr(exc, "detail", exc))
        response.data = error_body(response.status_code, code, message)
    return response


@csrf_exempt  # it changes nothing; without this, unsafe methods would get an HTML CSRF page
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    return JsonResponse(
        error_body(404, "not_found", f"No API endpoint at {request.path}."), status=404
    )
