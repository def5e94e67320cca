"""The policy evaluator keeps AWS's documented evaluation rules (IAM User Guide)."""

from __future__ import annotations

from typing import Any

import pytest
from policy_eval import Decision, Request, Unsupported, evaluate

BUCKET = "arn:aws:s3:::siesa-integration-config"
TAGGED_A = {"aws:PrincipalTag/client_id": "cliente-a"}


def allow(**statement: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}


def deny(**statement: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", **statement}]}


def decide(documents: list[dict[str, Any]], action: str, resource: str, **context: Any) -> Decision:
    return evaluate(Request(action, resource, context), documents)


# --- decision logic ----------------------------------------------------------------------


def test_nothing_is_allowed_by_default() -> None:
    assert decide([], "s3:GetObject", f"{BUCKET}/x") is Decision.IMPLICIT_DENY
    other = allow(Action="s3:PutObject", Resource=f"{BUCKET}/*")
    assert decide([other], "s3:GetObject", f"{BUCKET}/x") is Decision.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_an_allow_in_any_order_and_document() -> None:
    grant = allow(Action="s3:*", Resource="*")
    refuse = deny(Action="s3:GetObject", Resource=f"{BUCKET}/secret/*")
    for documents in ([grant, refuse], [refuse, grant]):
        assert decide(documents, "s3:GetObject", f"{BUCKET}/secret/x") is Decision.EXPLICIT_DENY
        assert decide(documents, "s3:GetObject", f"{BUCKET}/open/x") is Decision.ALLOW
    both = {"Statement": [*grant["Statement"], *refuse["Statement"]]}
    assert decide([both], "s3:GetObject", f"{BUCKET}/secret/x") is Decision.EXPLICIT_DENY


# --- actions and resources --------------------------------------------------------------


def test_actions_match_case_insensitively_with_wildcards() -> None:
    documents = [allow(Action=["s3:Get*", "dynamodb:?etItem"], Resource="*")]
    assert decide(documents, "s3:getobject", "x").allowed
    assert decide(documents, "S3:GetObjectVersion", "x").allowed
    assert decide(documents, "dynamodb:GetItem", "x").allowed
    assert not decide(documents, "s3:PutObject", "x").allowed
    assert not decide(documents, "dynamodb:BatchGetItem", "x").allowed  # ? is exactly one


def test_not_action_allows_everything_else() -> None:
    documents = [allow(NotAction="iam:*", Resource="*")]
    assert decide(documents, "s3:GetObject", "x").allowed
    assert not decide(documents, "iam:CreateUser", "x").allowed


def test_resources_match_case_sensitively_and_a_star_crosses_slashes() -> None:
    documents = [allow(Action="s3:GetObject", Resource=f"{BUCKET}/runs/*")]
    assert decide(documents, "s3:GetObject", f"{BUCKET}/runs/a/b/c.json").allowed
    assert not decide(documents, "s3:GetObject", f"{BUCKET}/RUNS/a").allowed
    assert not decide(documents, "s3:GetObject", f"{BUCKET}/mappings/a").allowed
    secret = allow(Action="secretsmanager:GetSecretValue", Resource="arn:x:secret:a/siesa-??????")
    assert decide([secret], "secretsmanager:GetSecretValue", "arn:x:secret:a/siesa-AbCdEf").allowed
    assert not decide([secret], "secretsmanager:GetSecretValue", "arn:x:secret:a/siesa-AbC").allowed


def test_not_resource_allows_every_other_resource() -> None:
    documents = [allow(Action="s3:GetObject", NotResource=f"{BUCKET}/mappings/*")]
    assert decide(documents, "s3:GetObject", f"{BUCKET}/runs/x").allowed
    assert not decide(documents, "s3:GetObject", f"{BUCKET}/mappings/x").allowed


# --- policy variables ---------------------------------------------------------------------


def test_a_policy_variable_in_a_resource_is_the_requests_value_and_the_slash_bounds_it() -> None:
    documents = [
        allow(Action="s3:GetObject", Resource=f"{BUCKET}/runs/${{aws:PrincipalTag/client_id}}/*")
    ]
    assert decide(documents, "s3:GetObject", f"{BUCKET}/runs/cliente-a/x", **TAGGED_A).allowed
    assert not decide(documents, "s3:GetObject", f"{BUCKET}/runs/cliente-b/x", **TAGGED_A).allowed
    assert not decide(documents, "s3:GetObject", f"{BUCKET}/runs/cliente-ab/x", **TAGGED_A).allowed
    # tag keys in context key names are case-insensitive
    other_case = {"aws:principaltag/CLIENT_ID": "cliente-a"}
    assert decide(documents, "s3:GetObject", f"{BUCKET}/runs/cliente-a/x", **other_case).allowed


def test_a_substituted_value_is_literal_text_never_a_wildcard() -> None:
    documents = [allow(Action="s3:GetObject", Resource=f"{BUCKET}/${{aws:PrincipalTag/p}}/x")]
    assert decide(
        documents, "s3:GetObject", f"{BUCKET}/a*/x", **{"aws:PrincipalTag/p": "a*"}
    ).allowed
    assert not decide(
        documents, "s3:GetObject", f"{BUCKET}/ab/x", **{"aws:PrincipalTag/p": "a*"}
    ).allowed


def test_a_missing_policy_variable_makes_the_statement_not_match() -> None:
    granted = allow(
        Action="s3:GetObject", Resource=f"{BUCKET}/runs/${{aws:PrincipalTag/client_id}}/*"
    )
    assert decide([granted], "s3:GetObject", f"{BUCKET}/runs//x") is Decision.IMPLICIT_DENY
    condition = allow(
        Action="dynamodb:GetItem",
        Resource="*",
        Condition={"StringEquals": {"aws:username": "${aws:PrincipalTag/client_id}"}},
    )
    assert not decide([condition], "dynamodb:GetItem", "t", **{"aws:username": ""}).allowed
    refused = deny(Action="s3:GetObject", Resource=f"{BUCKET}/${{aws:PrincipalTag/client_id}}")
    open_all = allow(Action="s3:GetObject", Resource="*")
    assert decide([open_all, refused], "s3:GetObject", f"{BUCKET}/x").allowed


# --- condition operators --------------------------------------------------------------------


def _condition(block: dict[str, Any]) -> list[dict[str, Any]]:
    return [allow(Action="s3:GetObject", Resource="*", Condition=block)]


def test_values_of_one_key_are_ored_keys_and_operators_anded() -> None:
    documents = _condition(
        {"StringEquals": {"k1": ["a", "b"], "k2": "c"}, "StringLike": {"k3": "x*"}}
    )
    assert decide(documents, "s3:GetObject", "r", k1="b", k2="c", k3="xyz").allowed
    assert not decide(documents, "s3:GetObject", "r", k1="z", k2="c", k3="xyz").allowed
    assert not decide(documents, "s3:GetObject", "r", k1="a", k2="d", k3="xyz").allowed
    assert not decide(documents, "s3:GetObject", "r", k1="a", k2="c", k3="yx").allowed


def test_string_like_wildcards_and_string_equals_is_exact() -> None:
    like = _condition({"StringLike": {"s3:prefix": "runs/cliente-a/*"}})
    assert decide(like, "s3:GetObject", "r", **{"s3:prefix": "runs/cliente-a/x"}).allowed
    assert not decide(like, "s3:GetObject", "r", **{"s3:prefix": "runs/cliente-ab/x"}).allowed
    equals = _condition({"StringEquals": {"k": "A*"}})
    assert decide(equals, "s3:GetObject", "r", k="A*").allowed
    assert not decide(equals, "s3:GetObject", "r", k="Ab").allowed
    assert not decide(equals, "s3:GetObject", "r", k="a*").allowed


def test_an_absent_key_fails_a_plain_operator_passes_a_negated_one_and_if_exists() -> None:
    assert not decide(_condition({"StringEquals": {"k": "a"}}), "s3:GetObject", "r").allowed
    assert decide(_condition({"StringNotEquals": {"k": "a"}}), "s3:GetObject", "r").allowed
    assert decide(_condition({"StringEqualsIfExists": {"k": "a"}}), "s3:GetObject", "r").allowed
    assert not decide(
        _condition({"StringEqualsIfExists": {"k": "a"}}), "s3:GetObject", "r", k="b"
    ).allowed
    assert decide(
        _condition({"ArnNotEquals": {"aws:PrincipalArn": "arn:a:b:c:d:e"}}), "s3:GetObject", "r"
    ).allowed


def test_null_tests_presence() -> None:
    present = _condition({"Null": {"aws:PrincipalTag/client_id": "false"}})
    absent = _condition({"Null": {"aws:PrincipalTag/client_id": "true"}})
    assert decide(present, "s3:GetObject", "r", **TAGGED_A).allowed
    assert not decide(present, "s3:GetObject", "r").allowed
    assert decide(absent, "s3:GetObject", "r").allowed
    assert not decide(absent, "s3:GetObject", "r", **TAGGED_A).allowed


def test_bool_compares_true_and_false() -> None:
    documents = _condition({"Bool": {"aws:SecureTransport": "false"}})
    assert decide(documents, "s3:GetObject", "r", **{"aws:SecureTransport": "False"}).allowed
    assert not decide(documents, "s3:GetObject", "r", **{"aws:SecureTransport": "true"}).allowed
    assert not decide(documents, "s3:GetObject", "r").allowed


def test_arn_operators_compare_the_six_parts_with_wildcards() -> None:
    role = "arn:aws:iam::123456789012:role/siesa-integration-loader-role"
    like = _condition({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/siesa-*"}})
    assert decide(like, "s3:GetObject", "r", **{"aws:PrincipalArn": role}).allowed
    assert not decide(
        like, "s3:GetObject", "r", **{"aws:PrincipalArn": "arn:aws:iam::1:user/siesa-x"}
    ).allowed
    equals = _condition({"ArnEquals": {"aws:PrincipalArn": role}})
    assert decide(equals, "s3:GetObject", "r", **{"aws:PrincipalArn": role}).allowed
    assert not decide(equals, "s3:GetObject", "r", **{"aws:PrincipalArn": role + "x"}).allowed
    not_equals = _condition({"ArnNotEquals": {"aws:PrincipalArn": role}})
    assert not decide(not_equals, "s3:GetObject", "r", **{"aws:PrincipalArn": role}).allowed
    assert decide(not_equals, "s3:GetObject", "r", **{"aws:PrincipalArn": role + "x"}).allowed


def test_for_all_values_is_true_for_an_absent_key_or_an_empty_set() -> None:
    documents = _condition({"ForAllValues:StringEquals": {"aws:TagKeys": ["client_id"]}})
    assert decide(documents, "s3:GetObject", "r", **{"aws:TagKeys": ["client_id"]}).allowed
    assert decide(documents, "s3:GetObject", "r", **{"aws:TagKeys": []}).allowed
    assert decide(documents, "s3:GetObject", "r").allowed
    assert not decide(
        documents, "s3:GetObject", "r", **{"aws:TagKeys": ["client_id", "admin"]}
    ).allowed


def test_for_any_value_needs_one_match_and_is_false_for_an_empty_set() -> None:
    documents = _condition({"ForAnyValue:StringEquals": {"aws:TagKeys": ["client_id"]}})
    assert decide(documents, "s3:GetObject", "r", **{"aws:TagKeys": ["x", "client_id"]}).allowed
    assert not decide(documents, "s3:GetObject", "r", **{"aws:TagKeys": ["x"]}).allowed
    assert not decide(documents, "s3:GetObject", "r", **{"aws:TagKeys": []}).allowed
    assert not decide(documents, "s3:GetObject", "r").allowed


def test_for_all_values_with_a_negated_operator_needs_every_value_outside_the_list() -> None:
    documents = _condition({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["admin"]}})
    assert decide(documents, "s3:GetObject", "r", **{"aws:TagKeys": ["a", "b"]}).allowed
    assert not decide(documents, "s3:GetObject", "r", **{"aws:TagKeys": ["a", "admin"]}).allowed


def test_for_all_values_on_leading_keys_lets_a_scan_through_unless_the_actions_stop_it() -> None:
    """Why the tenant roles never list dynamodb:Scan: a Scan has no LeadingKeys at all."""
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/siesa-integration-clients"
    scoped = {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:PrincipalTag/client_id}"]}
    }
    careless = [
        allow(Action=["dynamodb:GetItem", "dynamodb:Scan"], Resource=table, Condition=scoped)
    ]
    assert decide(careless, "dynamodb:Scan", table, **TAGGED_A).allowed  # every tenant's items
    assert not decide(
        careless, "dynamodb:GetItem", table, **TAGGED_A, **{"dynamodb:LeadingKeys": ["cliente-b"]}
    ).allowed
    careful = [allow(Action=["dynamodb:GetItem"], Resource=table, Condition=scoped)]
    assert not decide(careful, "dynamodb:Scan", table, **TAGGED_A).allowed


# --- principals (trust policies) ----------------------------------------------------------


def test_trust_principals_by_arn_account_and_service() -> None:
    role = "arn:aws:iam::123456789012:role/siesa-integration-loader-role"
    by_arn = allow(Principal={"AWS": role}, Action="sts:AssumeRole")
    assert evaluate(Request("sts:AssumeRole", "x", principal=role), [by_arn]).allowed
    other = role.replace("loader", "extractor")
    assert not evaluate(Request("sts:AssumeRole", "x", principal=other), [by_arn]).allowed
    assert not evaluate(Request("sts:AssumeRole", "x"), [by_arn]).allowed
    by_account = allow(Principal={"AWS": "arn:aws:iam::123456789012:root"}, Action="sts:AssumeRole")
    assert evaluate(Request("sts:AssumeRole", "x", principal=other), [by_account]).allowed
    foreign = "arn:aws:iam::999999999999:role/x"
    assert not evaluate(Request("sts:AssumeRole", "x", principal=foreign), [by_account]).allowed
    service = allow(Principal={"Service": "lambda.amazonaws.com"}, Action="sts:AssumeRole")
    assert evaluate(
        Request("sts:AssumeRole", "x", principal="lambda.amazonaws.com"), [service]
    ).allowed
    assert not evaluate(Request("sts:AssumeRole", "x", principal=role), [service]).allowed


# --- outside the subset ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        allow(Action="s3:GetObject", Resource="*", Condition={"NumericLessThan": {"k": "1"}}),
        allow(Action="s3:GetObject", Resource="*", Condition={"ForAllValues:Null": {"k": "true"}}),
        allow(Action="s3:GetObject", Resource="${aws:username, 'x'}"),
        {
            "Statement": [
                {"Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "s3:GetObject"}
            ]
        },
        {"Statement": [{"Effect": "Audit", "Action": "s3:GetObject", "Resource": "*"}]},
    ],
)
def test_anything_outside_the_subset_is_refused_not_guessed(document: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        evaluate(Request("s3:GetObject", "r", {"k": "0", "aws:username": "u"}), [document])


def test_a_plain_operator_on_a_multivalued_key_is_refused() -> None:
    documents = _condition({"StringEquals": {"aws:TagKeys": "client_id"}})
    with pytest.raises(Unsupported):
        decide(documents, "s3:GetObject", "r", **{"aws:TagKeys": ["client_id"]})
