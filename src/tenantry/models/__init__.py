"""The tables of both planes: `control` (schema `tenantry`) and `data` (every database's
schema and the template).

They sit below `auth`, which reads the control plane's tables to resolve a caller, and
below both planes: provisioning (control) copies the data-plane tables of the template, and
the data plane stores idempotency records in the control plane.
"""
