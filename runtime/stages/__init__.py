"""The stage cores: what records become at each stage, with no S3, DynamoDB or HTTP in them.

`extract` deduplicates the ERP's pages, `transform` maps raw records to
canonical ones, `load` sends canonical records through a product adapter.
Each takes plain inputs (iterables of records, a mapping, an adapter) and
returns plain outcomes; runtime/handlers/ reads and writes the run's data
around them.
"""
