"""What every simulator's Flask app shares: JSON errors, auth headers, bulk bodies, /_sim routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from contract import jsontext
from local.sim.faults import FaultInjector
from local.sim.keys import KeyRing
from local.sim.paging import BadParameter
from local.sim.ratelimit import SlidingWindowLimiter
from local.sim.requestlog import RequestLog

MAX_BULK_ITEMS = 100


class BadRequestBody(ValueError):
    """A request body the contract refuses whole (answered with 400)."""


def error_response(status: int, error: str, detail: str | None = None) -> Response:
    """The contracts' error shape: {"error": ..., "detail": ...}."""
    body: dict[str, str] = {"error": error}
    if detail:
        body["detail"] = detail
    response = jsonify(body)
    response.status_code = status
    return response


def unauthorized(scheme: str) -> Response:
    """401 with the challenge for `scheme` ("Bearer" or "X-API-Key")."""
    response = error_response(401, "unauthorized", f"missing or invalid {scheme} credentials")
    response.headers["WWW-Authenticate"] = scheme
    return response


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer ...` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def api_key_header() -> str | None:
    """The value of the `X-API-Key` header, or None."""
    value = request.headers.get("X-API-Key", "").strip()
    return value or None


def read_json_body() -> Any:
    """The parsed JSON body; BadRequestBody when it is missing or not JSON."""
    data = request.get_data(cache=True)
    if not data:
        raise BadRequestBody("the request body is empty; a JSON body is required")
    try:
        return request.get_json(force=True, silent=False)
    except Exception as exc:  # werkzeug raises BadRequest with its own message
        raise BadRequestBody("the request body is not valid JSON") from exc


def read_bulk_body(max_items: int = MAX_BULK_ITEMS) -> list[Any]:
    """A bulk body: a JSON array of 1..max_items items, else BadRequestBody."""
    body = read_json_body()
    if not isinstance(body, list):
        raise BadRequestBody("the body must be a JSON array of items")
    if not body:
        raise BadRequestBody("the array is empty; send 1 to 100 items")
    if len(body) > max_items:
        raise BadRequestBody(f"the array has {len(body)} items; at most {max_items} are allowed")
    return body


def current_tenant() -> str:
    """The tenant the request's key reaches (set by `install_guard`)."""
    return str(g.tenant)


def install_guard(
    app: Flask,
    keys: KeyRing,
    *,
    scheme: str,
    limiter: SlidingWindowLimiter | None = None,
) -> None:
    """Check each request's credentials (401) and rate limit (429 + Retry-After).

    `scheme` is "Bearer" (Authorization header) or "X-API-Key". Every
    authenticated answer carries X-RateLimit-Remaining when a limiter is set.
    /_sim/ routes are local-only and not guarded.
    """
    read_key = bearer_token if scheme == "Bearer" else api_key_header

    @app.before_request
    def _guard() -> Response | None:
        if "/_sim/" in request.path + "/":
            return None
        key = read_key()
        tenant = keys.tenant_for(key)
        if tenant is None or key is None:
            return unauthorized(scheme)
        g.tenant = tenant
        if limiter is not None:
            decision = limiter.acquire(key)
            g.rate_remaining = decision.remaining
            if not decision.allowed:
                response = error_response(
                    429,
                    "rate limit exceeded",
                    f"{limiter.limit} requests per {limiter.window_s:g} s per API key",
                )
                response.headers["Retry-After"] = str(decision.retry_after_s)
                return response
        return None

    @app.after_request
    def _remaining(response: Response) -> Response:
        remaining = g.get("rate_remaining")
        if remaining is not None:
            response.headers["X-RateLimit-Remaining"] = str(remaining)
        return response


class ExactJsonProvider(DefaultJSONProvider):
    """Bodies read and written as the runtime does (contract.jsontext): a decimal keeps its digits.

    Flask's own provider reads a JSON float as a float and writes a Decimal as
    a string; a simulated ERP or product must serve and check numbers exactly.
    """

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """`jsontext.dumps`; Flask's own encoding only for what it cannot write (dates, ...)."""
        try:
            return jsontext.dumps(obj)
        except TypeError:
            return super().dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """`jsontext.loads`: a JSON float becomes the Decimal it was written as."""
        return jsontext.loads(s)


def create_app(name: str) -> Flask:
    """A Flask app whose errors (404, 405, bad bodies or parameters, crashes) answer the contracts' JSON shape."""
    app = Flask(name)
    app.json = ExactJsonProvider(app)

    @app.errorhandler(BadRequestBody)
    def _bad_body(exc: BadRequestBody) -> Response:
        return error_response(400, "bad request", str(exc))

    @app.errorhandler(BadParameter)
    def _bad_parameter(exc: BadParameter) -> Response:
        return error_response(400, "bad request", str(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = exc.code or 500
        return error_response(code, (exc.name or "error").lower(), exc.description)

    @app.errorhandler(Exception)
    def _crash(exc: Exception) -> Response:
        app.logger.exception("simulator error on %s %s", request.method, request.path)
        return error_response(500, "internal error", type(exc).__name__)

    return app


def sim_blueprint(
    state: Callable[[], Mapping[str, Any]],
    log: RequestLog,
    faults: Callable[[str | None], FaultInjector],
    *,
    service: str | None = None,
) -> Blueprint:
    """The local-only read-back and control routes: /_sim/state, /_sim/requests, /_sim/faults.

    `faults(name)` returns the injector for a service name (None = this app's own);
    a POST /_sim/faults body may carry `"service"` to pick one.
    """
    blueprint = Blueprint("sim", __name__)

    @blueprint.get("/_sim/state")
    def _state() -> Response:
        return jsonify(dict(state()))

    @blueprint.get("/_sim/requests")
    def _requests() -> Response:
        return jsonify({"requests": log.as_json(request.args.get("service") or service)})

    @blueprint.delete("/_sim/requests")
    def _clear_requests() -> Response:
        log.clear()
        return jsonify({"requests": []})

    @blueprint.get("/_sim/faults")
    def _get_faults() -> Response:
        try:
            injector = faults(request.args.get("service"))
        except KeyError as exc:
            return error_response(404, "unknown service", str(exc))
        return jsonify(injector.snapshot())

    @blueprint.post("/_sim/faults")
    def _set_faults() -> Response:
        body = read_json_body()
        if not isinstance(body, dict):
            raise BadRequestBody("the body must be a JSON object of fault knobs")
        knobs = dict(body)
        try:
            injector = faults(knobs.pop("service", None))
        except KeyError as exc:
            return error_response(404, "unknown service", str(exc))
        try:
            return jsonify(injector.apply_request(knobs))
        except ValidationError as exc:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            return error_response(400, "invalid fault knobs", detail)

    return blueprint
