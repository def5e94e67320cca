"""Environment=prod: log groups keep 30 days (its own module: one embedded AWS per process)."""

from __future__ import annotations

from local.embedded_aws import LocalAws
from local.provision import provision


def test_prod_keeps_logs_thirty_days_and_takes_parameters() -> None:
    with LocalAws() as aws:
        provision(
            aws,
            environment="prod",
            parameters={"ReservedConcurrency": "3", "AlertEmail": "ops@example.com"},
            mappings_dir=None,
        )
        groups = aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/")["logGroups"]
        assert {group["retentionInDays"] for group in groups} == {30}
        assert len(groups) == 4
        function = aws.client("lambda").get_function(FunctionName="siesa-integration-loader")
        assert function["Configuration"]["Environment"]["Variables"]["ENVIRONMENT"] == "prod"
        assert function["Concurrency"]["ReservedConcurrentExecutions"] == 3
