"""The `siesa` console script: one command for integration engineers and operators."""
