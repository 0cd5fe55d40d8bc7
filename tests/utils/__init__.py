"""Helpers shared by test modules: plain functions, classes and constants, no fixtures (those
are in the conftest.py files) and no tests. No module imports a test module or a conftest
(`tests/test_layout.py`).

- `factories`: organizations, accounts, databases, API keys and the resources of a
  database, made through the API of the app under test; the one test `PASSWORD`.
- `problems`: the check of an error answer (`assert_problem`), `LEAKS`.
- `server`: `tenantry serve` and the CLI as processes of their own (`Server`).
- `http`: organizations and timed requests over real HTTP, against a `Server`.
- `postgres`, `settings`, `sql`: databases of their own, the app's settings, reads behind
  the API's back.
- `admin`, `browser`: the admin panel's browser over HTTP; the real browser's guard.
- `clock`, `worker`, `hot`, `polling`, `cli`, `redis`, `probe`: handles on parts of the
  app (its token clock, its worker, its hot layer), waiting, the CLI in-process, Redis,
  routes only the tests mount.
- `template`, `portal`, `isolation`, `faults`: the reliability suites' template, the app on
  a portal, the world of tenants and its checks, and the fault harness.
"""
