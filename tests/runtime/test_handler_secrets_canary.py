"""No secret value ever reaches a log line, an EMF record, an exception, the workflow state or stored state.

Unique canary values are seeded as every secret field; the three handlers run
(happy path and the failure paths that handle credentials) with DEBUG logging
everywhere; then everything captured is scanned for any canary.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from local.sim import generate_catalog
from runtime.errors import InvalidSecret, ProductAuthError, SiesaAuthError
from runtime.handlers.extractor import lambda_handler as extractor
from runtime.handlers.loader import lambda_handler as loader
from runtime.handlers.transformer import lambda_handler as transformer

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def _canary(label: str) -> str:
    return f"canary-{label}-{uuid.uuid4().hex}"


class Evidence:
    """Everything a run leaves behind that someone could read."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, text: Any) -> None:
        self.texts.append(str(text))

    def add_exception(self, exc: BaseException) -> None:
        self.add("".join(traceback.format_exception(exc)))
        self.add(repr(exc))

    def add_aws_state(self, platform: Any) -> None:
        aws = platform.aws
        for table in ("siesa-integration-clients", "siesa-integration-runs"):
            self.add(aws.dynamodb.scan(TableName=table)["Items"])
        for key in aws.keys("runs/"):
            self.add(aws.object_text(key))

    def leaks(self, canaries: list[str]) -> list[str]:
        return [canary for canary in canaries if any(canary in text for text in self.texts)]


def _expect_error(evidence: Evidence, error: type[BaseException], call: Callable[[], Any]) -> None:
    with pytest.raises(error) as caught:
        call()
    evidence.add_exception(caught.value)


def test_no_canary_escapes_any_handler(
    platform: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    siesa_key, siesa_password = _canary("siesa-key"), _canary("siesa-password")
    kong_key, kong_extra = _canary("kong-key"), _canary("kong-extra-token")
    wrong_kong_key, bad_json_value = _canary("wrong-kong"), _canary("bad-json")
    canaries = [siesa_key, siesa_password, kong_key, kong_extra, wrong_kong_key, bad_json_value]
    evidence = Evidence()

    _, siesa_url = platform.siesa(
        generate_catalog(120, seed=4, client="cliente-c"), api_key=siesa_key
    )
    _, kong_url = platform.kong(api_key=kong_key)
    platform.client(
        "cliente-c",
        product_type="kong",
        siesa_url=siesa_url,
        product_url=kong_url,
        siesa_key=siesa_key,
        product_key=kong_key,
    )
    platform.aws.put_secret(
        "cliente-c",
        "siesa",
        {"api_url": siesa_url, "api_key": siesa_key, "password": siesa_password},
    )
    platform.aws.put_secret(
        "cliente-c",
        "kong",
        {
            "product_type": "kong",
            "api_url": kong_url,
            "api_key": kong_key,
            "additional_config": {"token": kong_extra},
        },
    )

    # the happy path: every state's output is what Step Functions would keep
    extracted = extractor({"client_id": "cliente-c", "sync_type": "initial"}, None)
    transformed = transformer(extracted, None)
    summary = loader(transformed, None)
    evidence.add([extracted, transformed, summary])
    assert summary["records_success"] > 0

    # the product refuses a key (401): the error and the run's record must not carry it
    platform.aws.put_secret(
        "cliente-c",
        "kong",
        {"product_type": "kong", "api_url": kong_url, "api_key": wrong_kong_key},
    )
    from runtime import secrets

    secrets.clear_cache()
    again = transformer(extractor({"client_id": "cliente-c", "sync_type": "initial"}, None), None)
    _expect_error(evidence, ProductAuthError, lambda: loader(again, None))

    # the ERP refuses its key
    platform.aws.put_secret("cliente-c", "siesa", {"api_url": siesa_url, "api_key": wrong_kong_key})
    secrets.clear_cache()
    _expect_error(
        evidence,
        SiesaAuthError,
        lambda: extractor({"client_id": "cliente-c", "sync_type": "initial"}, None),
    )

    # a secret that is not JSON
    platform.aws.put_secret("cliente-c", "siesa", '{"api_key": "' + bad_json_value + '",}')
    secrets.clear_cache()
    _expect_error(
        evidence,
        InvalidSecret,
        lambda: extractor({"client_id": "cliente-c", "sync_type": "initial"}, None),
    )

    captured = capsys.readouterr()
    evidence.add(captured.out)
    evidence.add(captured.err)
    evidence.add(caplog.text)
    for record in caplog.records:
        evidence.add(record.__dict__)
    evidence.add_aws_state(platform)

    assert (
        '"_aws"' in captured.out and '"component":"loader"' in captured.out
    )  # EMF and logs were captured
    assert any(record.levelno == logging.DEBUG for record in caplog.records)
    leaks = evidence.leaks(canaries)
    if leaks:  # say where, to make a failure actionable
        where = [
            text[max(0, text.find(leaks[0]) - 300) : text.find(leaks[0]) + 80]
            for text in evidence.texts
            if leaks[0] in text
        ]
        pytest.fail(f"{len(leaks)} canaries leaked, e.g. in: {where[:3]}")
