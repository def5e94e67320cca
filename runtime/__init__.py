"""The serverless runtime: Lambda handlers, Siesa clients, product adapters, tenant config."""
