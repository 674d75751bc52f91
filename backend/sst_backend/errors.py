"""One JSON error shape for every failure a user can cause: {"error": {code, message}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorBody(BaseModel):
    """What went wrong, for people (message) and programs (code)."""

    code: str
    message: str
    details: Any | None = None


class ErrorResponse(BaseModel):
    """The body of every 4xx/5xx response."""

    error: ErrorBody


class APIError(Exception):
    """An error a user caused, with its HTTP status and a message they can act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers


def not_found(what: str) -> APIError:
    """A 404 that does not reveal whether the thing exists for someone else."""
    return APIError(404, "not_found", f"{what} was not found.")


def _body(code: str, message: str, details: Any | None = None) -> dict[str, Any]:
    return ErrorResponse(error=ErrorBody(code=code, message=message, details=details)).model_dump(
        exclude_none=True
    )


def error_response(exc: APIError) -> JSONResponse:
    """The JSON response of an APIError (for an endpoint that must answer an error yet commit)."""
    headers = dict(exc.headers or {})
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        _body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers or None
    )


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "too_many_requests",
}


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and route_methods and regex.match(request.url.path):
            methods |= set(route_methods)
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    """Turn every error into the one JSON shape."""

    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # The framework's "error parsing the body" (bytes that are not UTF-8 JSON): the
            # same kind of mistake as malformed JSON, which is a 422 with details.
            message = "Invalid request: the body is not valid JSON text (UTF-8)."
            return JSONResponse(_body("invalid_request", message), status_code=422)
        code = _STATUS_CODES.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return JSONResponse(
            _body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"where": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        first = problems[0] if problems else {"where": "request", "problem": "invalid"}
        message = f"Invalid request: {first['where']}: {first['problem']}."
        return JSONResponse(_body("invalid_request", message, problems), status_code=422)

    # Services check what they can first; these catch the race they cannot (two admins
    # adding the same thing at once) so that the answer is a 409, never a 500.
    @app.exception_handler(IntegrityError)
    async def _conflict(_: Request, exc: IntegrityError) -> JSONResponse:
        message = "That conflicts with what is stored (it may have just changed); reload."
        return JSONResponse(_body("conflict", message), status_code=409)

    @app.exception_handler(DBAPIError)
    async def _bad_value(_: Request, exc: DBAPIError) -> JSONResponse:
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
        if sqlstate.startswith("22"):  # data exception: a value the database cannot hold
            message = "A value in the request is out of range for what can be stored."
            return JSONResponse(_body("invalid_request", message), status_code=422)
        raise exc


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing, expired or forged token."},
    404: {"model": ErrorResponse, "description": "Not found, or not yours to see."},
    422: {"model": ErrorResponse, "description": "The request does not fit the schema."},
}

FORBIDDEN_RESPONSE: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "Your role does not allow this."},
}
