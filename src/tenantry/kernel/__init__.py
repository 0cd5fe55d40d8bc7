"""What every layer shares: the strict base of request bodies, the roles and database
statuses, identifier types, API version prefixes and the rate-limit notation.

The kernel imports nothing else of tenantry, so any layer may import it (see the layers in
docs/architecture.md and `[tool.importlinter]` in pyproject.toml).
"""
