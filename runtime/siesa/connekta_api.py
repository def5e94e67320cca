"""Connekta's HTTP answers read the one way: which status is which error, where a page's rows are.

Connekta says "no rows" with HTTP 400 and `mensaje` "No se encontraron
registros" (also past the last page), so that 400 is the end of the data,
not an error; every other 400 is, with the server's words (secrets scrubbed).
401/403 is a refused ConniKey/ConniToken pair; the contract lets a 500 mean
the same when its message asks to check permissions. 429 waits; other 5xx,
timeouts, drops and malformed pages are retried as on the REST dialect.
"""

from __future__ import annotations

from typing import Any

from runtime.errors import (
    IntegrationError,
    SiesaAuthError,
    SiesaRateLimited,
    SiesaResponseError,
    SiesaResponseTooLarge,
    SiesaResponseTooSlow,
    SiesaUnavailable,
)
from runtime.http import TRANSIENT_STATUSES, Failure, JsonApi
from runtime.http.api import BodyCheck
from runtime.remote_text import plain_text

NO_RECORDS_TEXT = "no se encontraron registros"
PERMISSIONS_TEXT = "verifique si tiene permisos"
ROWS_KEYS = {"standard": "Table", "custom": "Datos"}
"""Where each endpoint puts its rows under `detalle`."""


class NoRecords(IntegrationError):
    """Connekta's "No se encontraron registros": the query has no (more) rows. Ends paging."""


def says_no_records(text: object) -> bool:
    """True when a Connekta message is its "no rows" answer."""
    return isinstance(text, str) and NO_RECORDS_TEXT in text.casefold()


class ConnektaApi(JsonApi):
    """Connekta's HTTP calls for one saved query; `error_for` is its one status → error table."""

    def __init__(self, *, query: str, id_compania: int, secret_name: str, **options: Any) -> None:
        super().__init__(**options)
        self.query = query
        self.id_compania = id_compania
        self.secret_name = secret_name

    def error_for(self, failure: Failure) -> IntegrationError:
        """The runtime error (or the end of the rows) for one failed attempt."""
        message = failure.describe(self.api_name)
        if failure.kind == "too_large":
            return SiesaResponseTooLarge(message)
        if failure.kind == "deadline":
            return SiesaResponseTooSlow(message)
        if failure.kind == "budget":
            return SiesaRateLimited(message, retry_after=failure.retry_after)
        if failure.kind != "status":
            return SiesaUnavailable(message)
        if failure.status == 400 and says_no_records(failure.detail):
            return NoRecords(message)
        refused = failure.status in (401, 403) or (
            failure.status == 500 and PERMISSIONS_TEXT in failure.detail.casefold()
        )
        if refused:
            return SiesaAuthError(
                f"the ConniKey/ConniToken pair was refused for query {self.query} "
                f"(idCompania {self.id_compania}); check the pair stored in {self.secret_name} "
                f"for this query. {message}"
            )
        if failure.status == 429:
            return SiesaRateLimited(message, retry_after=failure.retry_after)
        if failure.status in TRANSIENT_STATUSES:
            return SiesaUnavailable(message)
        if failure.status == 400:
            return SiesaResponseError(
                f"Siesa Connekta refused the request for query {self.query} "
                f"(idCompania {self.id_compania}). {message}"
            )
        return SiesaResponseError(message)

    def page_rows(self, body: dict[str, Any], rows_key: str) -> list[dict[str, Any]]:
        """The rows of a checked 200 body; [] when it says there are none.

        Rows under the other endpoint's key mean the client config names the
        wrong endpoint: a SiesaResponseError that says so, never a silent empty run.
        A non-zero `codigo` with any other message is the server's error.
        """
        codigo = body.get("codigo", 0)
        mensaje = body.get("mensaje")
        if codigo not in (0, "0", None):
            if says_no_records(mensaje):
                return []
            raise SiesaResponseError(
                f"Siesa Connekta answered codigo {plain_text(codigo, limit=20)} for query {self.query}: "
                f"{self.clean_text(str(mensaje or ''))}"
            )
        detalle = body.get("detalle")
        if not isinstance(detalle, dict):
            return []
        rows = detalle.get(rows_key)
        if rows:
            return list(rows)
        for endpoint, other_key in ROWS_KEYS.items():
            if other_key != rows_key and detalle.get(other_key):
                raise SiesaResponseError(
                    f"Siesa Connekta put the rows of query {self.query} under detalle.{other_key}, "
                    f"not detalle.{rows_key}: set the client's connekta.endpoint to {endpoint!r}"
                )
        return []


def check_body(rows_key: str, page_size: int) -> BodyCheck:
    """A body check for `JsonApi.call`: why a 200 is malformed, or None.

    A body without rows (no `detalle`, an empty or null list) is well formed:
    it means no rows. Rows, when present, must be a list of objects, no more
    than the `tamPag` asked for (a server that ignores it is refused).
    """

    def check(body: Any) -> str | None:
        if not isinstance(body, dict):
            return "the answer is not a JSON object"
        detalle = body.get("detalle")
        if detalle is None or detalle == "" or detalle == []:
            return None
        if not isinstance(detalle, dict):
            return "`detalle` is not an object"
        rows = detalle.get(rows_key)
        if rows is not None and (
            not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows)
        ):
            return f"`detalle.{rows_key}` is not a list of objects"
        if rows is not None and len(rows) > page_size:
            return f"the page holds {len(rows)} rows, more than the tamPag of {page_size} asked for"
        return None

    return check
