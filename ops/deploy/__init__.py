"""Running on AWS: `siesa bundle` (the Lambda package and the mapping bundle) and `siesa deploy`.

Nothing here reaches Lambda: the package these modules build holds
`runtime/` without `ops/deploy/`, `local/`, `cli/` and
`ops/`.
"""
