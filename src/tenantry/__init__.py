"""Tenantry: a multi-tenant API server with one PostgreSQL schema per client."""

__version__ = "0.1.0"
