"""The workflow definition keeps the contract of docs/architecture.md and runtime/errors.py."""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

import pytest

from ops.deploy import infra
from runtime import errors

DEFINITION: dict[str, Any] = json.loads(infra.load_definition())
STATES: dict[str, Any] = DEFINITION["States"]
LAMBDA_TASKS = {
    "ExtractFromSiesa": "${ExtractorFunctionArn}",
    "TransformData": "${TransformerFunctionArn}",
    "LoadToProduct": "${LoaderFunctionArn}",
}
AUTH_ERRORS = {"SiesaAuthError", "ProductAuthError"}
BROAD_ERRORS = {"States.ALL", "States.TaskFailed"}


def _retriers(state: str) -> list[dict[str, Any]]:
    return list(STATES[state].get("Retry", []))


def _retried_names(state: str) -> set[str]:
    """Error names a state retries at least once."""
    return {
        name
        for retrier in _retriers(state)
        if retrier.get("MaxAttempts", 3) > 0
        for name in retrier["ErrorEquals"]
    }


def _walk(start: str) -> list[str]:
    """The states visited from `start` following Next/Default."""
    path = [start]
    while True:
        state = STATES[path[-1]]
        following = state.get("Next") or state.get("Default")
        if following is None:
            return path
        path.append(following)


def test_the_happy_path_is_extract_transform_load_log_release() -> None:
    assert DEFINITION["StartAt"] == "StartRun"
    assert _walk("StartRun") == [
        "StartRun",
        "ExtractFromSiesa",
        "CheckLease",
        "HowToMap",
        "MapPages",
        "TransformRetried",
        "LoadRetried",
        "FinishRun",
        "CheckLoadStatus",
        "LogSuccess",
        "ReleaseLease",
        "Done",
    ]
    # a stock sync: one transform, one load
    assert _walk("TransformData")[:3] == ["TransformData", "LoadToProduct", "CheckLoadStatus"]
    assert STATES["Done"] == {"Type": "Succeed"}
    # the extractor is told its execution: the run lease names it
    assert STATES["StartRun"]["Parameters"] == {"execution_arn.$": "$$.Execution.Id"}
    assert STATES["StartRun"]["ResultPath"] == "$.lease"


def test_a_start_the_lease_refuses_ends_skipped_alerting_only_when_told() -> None:
    assert STATES["CheckLease"]["Choices"][0] == {
        "Variable": "$.skipped",
        "IsPresent": True,
        "Next": "RunSkipped",
    }
    assert _walk("RunSkipped") == ["RunSkipped", "Skipped"]
    assert STATES["RunSkipped"]["Choices"][0]["Next"] == "NotifySkipped"
    notify = STATES["NotifySkipped"]
    assert notify["Resource"] == "arn:aws:states:::sns:publish"
    assert notify["Parameters"]["Message.$"] == "$.skipped.alert.message"
    assert notify["Next"] == notify["Catch"][0]["Next"] == "Skipped"
    assert STATES["Skipped"]["Type"] == "Succeed"  # a skip is no failed execution
    # a skipped start never reaches a state that could release its holder's lease
    assert not {"ReleaseLease", "ReleaseLeaseAfterFailure"} & set(_walk("RunSkipped"))


def test_an_extraction_that_hands_back_a_cursor_is_invoked_again_with_it() -> None:
    """runtime/handlers/extract_run.py: the whole output (client, run id, cursor) is the next input."""
    choice = STATES["CheckLease"]["Choices"][1]
    assert choice["Variable"] == "$.cursor" and choice["IsPresent"] is True
    assert choice["Next"] == "ExtractFromSiesa"
    assert STATES["ExtractFromSiesa"]["ResultPath"] == "$"


@pytest.mark.parametrize("state", ["ReleaseLease", "ReleaseLeaseAfterFailure"])
def test_the_lease_is_released_only_by_the_execution_that_holds_it(state: str) -> None:
    parameters = STATES[state]["Parameters"]
    assert parameters["ConditionExpression"] == "lease_execution = :execution"
    assert parameters["ExpressionAttributeValues"] == {":execution": {"S.$": "$$.Execution.Id"}}
    assert parameters["UpdateExpression"].startswith("REMOVE lease_execution")
    assert STATES[state]["ResultPath"] is None
    (catcher,) = STATES[state]["Catch"]
    assert catcher["ErrorEquals"] == ["States.ALL"] and catcher["ResultPath"] is None
    assert catcher["Next"] == STATES[state]["Next"]


def test_every_path_that_took_the_lease_releases_it() -> None:
    """Success, a newer run recorded, and each failure path go through a release state."""
    assert _walk("NewerRunRecorded")[1:] == ["ReleaseLease", "Done"]
    for start in ("LogSuccess", "LogFailure", "LogFailureWithoutRunId"):
        path = _walk(start)
        assert {"ReleaseLease", "ReleaseLeaseAfterFailure"} & set(path), start
        for catcher in STATES[start]["Catch"]:
            onward = _walk(catcher["Next"])
            assert {"ReleaseLease", "ReleaseLeaseAfterFailure", "NotifyFailure"} & set(onward)


def test_the_lease_outlives_no_execution() -> None:
    from runtime.run_lease import LEASE_SECONDS

    assert DEFINITION["TimeoutSeconds"] == LEASE_SECONDS


def test_the_failure_path_alerts_then_logs_then_fails_the_execution() -> None:
    assert _walk("NotifyFailure") == [
        "NotifyFailure",
        "RecordFailure",
        "LogFailureWithoutRunId",
        "ReleaseLeaseAfterFailure",
        "SyncFailed",
    ]
    assert STATES["RecordFailure"]["Choices"] == [
        {"Variable": "$.run_id", "IsPresent": True, "Next": "LogFailure"}
    ]
    assert STATES["LogFailure"]["Next"] == "ReleaseLeaseAfterFailure"
    assert STATES["NotifyFailure"]["Resource"] == "arn:aws:states:::sns:publish"
    for state in ("LogFailure", "LogFailureWithoutRunId"):
        assert STATES[state]["Resource"] == "arn:aws:states:::dynamodb:updateItem"
        assert STATES[state]["Catch"][0]["Next"] == "ReleaseLeaseAfterFailure"
    assert STATES["SyncFailed"]["Type"] == "Fail"
    assert STATES["SyncFailed"]["ErrorPath"] == "$.error.Error"


@pytest.mark.parametrize("state", [*LAMBDA_TASKS, "LogSuccess"])
def test_every_step_catches_everything_into_notify_failure(state: str) -> None:
    catchers = STATES[state]["Catch"]
    assert {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure"} in [
        {key: catcher[key] for key in ("ErrorEquals", "ResultPath", "Next")} for catcher in catchers
    ]


@pytest.mark.parametrize(("state", "placeholder"), LAMBDA_TASKS.items())
def test_lambda_tasks_use_placeholders_and_pass_the_previous_output(
    state: str, placeholder: str
) -> None:
    task = STATES[state]
    assert task["Resource"] == placeholder
    assert task.get("ResultPath", "$") == "$"
    assert "OutputPath" not in task
    assert "InputPath" not in task


def test_no_state_moves_product_arrays() -> None:
    text = infra.load_definition()
    for field in ("products", "canonical_products", "failed_records."):
        assert f"$.{field}" not in text


@pytest.mark.parametrize("state", LAMBDA_TASKS)
def test_authentication_errors_are_never_retried(state: str) -> None:
    retriers = _retriers(state)
    assert not AUTH_ERRORS & _retried_names(state)
    for index, retrier in enumerate(retriers):
        if BROAD_ERRORS & set(retrier["ErrorEquals"]):
            # a broad retrier may come only after the MaxAttempts 0 entries for auth errors
            earlier = {name for entry in retriers[:index] for name in entry["ErrorEquals"]}
            assert earlier >= AUTH_ERRORS


def test_each_auth_error_has_a_zero_attempt_retrier_where_it_can_arise() -> None:
    def zero_attempt(state: str) -> set[str]:
        return {
            name
            for retrier in _retriers(state)
            if retrier.get("MaxAttempts") == 0
            for name in retrier["ErrorEquals"]
        }

    assert "SiesaAuthError" in zero_attempt("ExtractFromSiesa")
    assert "ProductAuthError" in zero_attempt("LoadToProduct")


def test_transient_errors_are_retried_where_they_arise() -> None:
    assert {"SiesaUnavailable", "SiesaRateLimited"} <= _retried_names("ExtractFromSiesa")
    assert {"ProductUnavailable", "ProductRateLimited"} <= _retried_names("LoadToProduct")
    for state in LAMBDA_TASKS:
        assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= _retried_names(
            state
        )


def test_every_transient_runtime_error_is_retried_somewhere() -> None:
    """A new transient error class in runtime/errors.py must be added to the definition."""
    transient = {
        name
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.TransientError) and not cls.__subclasses__()
    }
    retried = set().union(*(_retried_names(state) for state in LAMBDA_TASKS))
    assert transient <= retried


def test_every_error_name_is_a_runtime_error_or_an_aws_error() -> None:
    names = {
        name
        for state in STATES.values()
        for entry in [*state.get("Retry", []), *state.get("Catch", [])]
        for name in entry["ErrorEquals"]
    }
    for name in names:
        if name.split(".")[0] in ("States", "Lambda", "DynamoDB"):
            continue
        cls = getattr(errors, name, None)
        assert isinstance(cls, type) and issubclass(cls, errors.IntegrationError), name


def test_retries_back_off() -> None:
    for state in STATES.values():
        for retrier in state.get("Retry", []):
            if retrier.get("MaxAttempts", 3) > 0:
                assert retrier["BackoffRate"] >= 2.0
                assert retrier["IntervalSeconds"] >= 2


RUN_GUARD = (
    "attribute_exists(client_id) AND "
    "(attribute_not_exists(last_sync_run_id) OR last_sync_run_id <= :run_id)"
)


def test_log_success_records_the_loader_status_time_and_count() -> None:
    parameters = STATES["LogSuccess"]["Parameters"]
    assert parameters["TableName"] == "${ClientsTableName}"
    assert parameters["Key"] == {"client_id": {"S.$": "$.client_id"}}
    values = parameters["ExpressionAttributeValues"]
    assert values[":status"] == {"S.$": "$.status"}
    assert values[":timestamp"] == {"S.$": "$.load_timestamp"}
    assert values[":records"] == {"N.$": "States.Format('{}', $.records_success)"}
    assert values[":run_id"] == {"S.$": "$.run_id"}
    assert "last_sync_status = :status" in parameters["UpdateExpression"]
    # the runtime's guard (runtime.config_store.update_sync_status): never over a newer run,
    # never a half item for a client that does not exist
    assert parameters["ConditionExpression"] == RUN_GUARD
    assert STATES["LogSuccess"]["Catch"][0] == {
        "Comment": STATES["LogSuccess"]["Catch"][0]["Comment"],
        "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
        "ResultPath": None,
        "Next": "NewerRunRecorded",
    }
    assert STATES["NewerRunRecorded"] == {"Type": "Pass", "Next": "ReleaseLease"}
    # the execution's output stays the loader summary
    assert STATES["LogSuccess"]["ResultPath"] is None


def test_log_failure_keeps_the_same_guard_when_the_run_is_known() -> None:
    assert STATES["LogFailure"]["Parameters"]["ConditionExpression"] == RUN_GUARD
    without = STATES["LogFailureWithoutRunId"]["Parameters"]
    assert without["ConditionExpression"] == "attribute_exists(client_id)"
    assert ":run_id" not in without["ExpressionAttributeValues"]
    for state in ("LogFailure", "LogFailureWithoutRunId"):
        values = STATES[state]["Parameters"]["ExpressionAttributeValues"]
        assert values[":status"] == {"S": "failed"}


def test_a_failed_load_goes_to_the_alert() -> None:
    choice = STATES["CheckLoadStatus"]["Choices"]
    assert choice[0] == {"Variable": "$.status", "StringEquals": "failed", "Next": "LoadFailed"}
    assert STATES["LoadFailed"]["Next"] == "NotifyFailure"
    assert STATES["LoadFailed"]["ResultPath"] == "$.error"


def test_a_run_that_carries_a_failed_records_alert_publishes_it_then_logs_its_outcome() -> None:
    # after the failed check: a failed run gets the failure alert, never both
    assert STATES["CheckLoadStatus"]["Choices"][1:] == [
        {
            "And": [
                {"Variable": "$.failed_records_alert", "IsPresent": True},
                {"Variable": "$.failed_records_alert", "IsNull": False},
            ],
            "Next": "NotifyFailedRecords",
        }
    ]
    notify = STATES["NotifyFailedRecords"]
    assert notify["Resource"] == "arn:aws:states:::sns:publish"
    assert notify["Parameters"] == {
        "TopicArn": "${AlertsTopicArn}",
        "Subject.$": "$.failed_records_alert.subject",
        "Message.$": "$.failed_records_alert.message",
    }
    # the execution's output stays the loader summary, and an alert that cannot be sent
    # does not fail a run that finished
    assert notify["ResultPath"] is None and notify["Next"] == "LogSuccess"
    (catcher,) = notify["Catch"]
    assert (catcher["ErrorEquals"], catcher["Next"]) == (["States.ALL"], "LogSuccess")


def test_the_alert_names_client_error_and_cause_and_nothing_else_of_the_state() -> None:
    parameters = STATES["NotifyFailure"]["Parameters"]
    assert parameters["TopicArn"] == "${AlertsTopicArn}"
    message = parameters["Message.$"]
    arguments = re.findall(r"\$\$?\.[A-Za-z_.]+", message.split("',", 1)[1])
    assert arguments == ["$.client_id", "$$.Execution.Name", "$.error.Error", "$.error.Cause"]
    assert re.findall(r"\$\.[A-Za-z_.]+", parameters["Subject.$"]) == ["$.client_id"]


def test_placeholders_are_exactly_the_template_substitutions_and_outputs() -> None:
    template = infra.load_template()
    names = infra.substitution_names(template)
    assert infra.placeholders(infra.load_definition()) == names
    assert names <= set(template["Outputs"])


def _iteration(map_state: str) -> dict[str, Any]:
    states: dict[str, Any] = STATES[map_state]["ItemProcessor"]["States"]
    return states


def test_runs_map_and_load_page_by_page_inline_or_distributed_by_their_page_count() -> None:
    """issue 13: no invocation and no state grows with the catalog (runtime/handlers/parts.py)."""
    choices = STATES["HowToMap"]["Choices"]
    assert choices[0] == {
        "Variable": "$.sync_type",
        "StringEquals": "stock",
        "Next": "TransformData",
    }
    assert choices[1] == {
        "Variable": "$.page_count",
        "NumericGreaterThanPath": "$.inline_max_pages",
        "Next": "MapPagesFromS3",
    }
    assert STATES["HowToMap"]["Default"] == "MapPages"
    inline, distributed = STATES["MapPages"], STATES["MapPagesFromS3"]
    assert inline["ItemsPath"] == "$.extracted_pages"
    assert inline["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    assert distributed["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    reader = distributed["ItemReader"]
    assert reader["Resource"] == "arn:aws:states:::s3:listObjectsV2"
    assert reader["Parameters"]["Prefix.$"] == (
        "States.Format('runs/{}/{}/extracted/', $.client_id, $.run_id)"
    )
    assert inline["ItemSelector"]["page_key.$"] == "$$.Map.Item.Value"
    assert distributed["ItemSelector"]["page_key.$"] == "$$.Map.Item.Value.Key"
    for state in (inline, distributed):
        assert state["MaxConcurrencyPath"] == "$.page_concurrency"  # the client's concurrency
        assert state["ResultPath"] is None  # the iterations' outputs are dropped...
        assert state["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RunStopped"}
        ]
        assert state["ItemSelector"]["mode"] == "page"
        assert state["ItemSelector"]["extracted_pages"] == []  # ...and no page list travels
        iteration = state["ItemProcessor"]["States"]
        assert state["ItemProcessor"]["StartAt"] == "TransformPage"
        assert iteration["TransformPage"]["Resource"] == "${TransformerFunctionArn}"
        assert iteration["TransformPage"]["Retry"] == STATES["TransformData"]["Retry"]
        assert iteration["LoadPage"]["Resource"] == "${LoaderFunctionArn}"
        assert iteration["LoadPage"]["Retry"] == STATES["LoadToProduct"]["Retry"]
        assert iteration["LoadPage"]["ResultPath"] is None
        assert iteration["PageDone"] == {
            "Type": "Pass",
            "Comment": iteration["PageDone"]["Comment"],
            "Result": {},
            "End": True,
        }
    assert inline["ItemSelector"] == {
        **distributed["ItemSelector"],
        "page_key.$": "$$.Map.Item.Value",
    }


def test_a_stopped_page_gathers_the_reports_then_alerts_and_the_finish_step_ends_the_run() -> None:
    stopped = STATES["RunStopped"]
    assert stopped["Parameters"]["mode"] == "finish"
    assert stopped["Parameters"]["error.$"] == "$.error"
    assert stopped["ResultPath"] is None and stopped["Next"] == "NotifyFailure"
    assert stopped["Catch"][0]["Next"] == "NotifyFailure"
    assert stopped["Catch"][0]["ResultPath"] != "$.error"  # the page's error is the one told
    finish = STATES["FinishRun"]
    assert finish["Parameters"]["mode"] == "finish" and finish["ResultPath"] == "$"
    assert finish["Next"] == "CheckLoadStatus"
    assert finish["Retry"] == STATES["LoadToProduct"]["Retry"]
    assert STATES["LoadRetried"]["InputPath"] == "$.retried"
    assert STATES["TransformRetried"]["ResultPath"] == "$.retried"
