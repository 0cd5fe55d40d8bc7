"""The API versions served, as the path prefixes of their routes."""

V1 = "/v1"
V20241104 = "/v20241104"  # the documents API, as its version of 2024-11-04 has it
