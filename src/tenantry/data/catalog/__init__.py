"""Items and users: a database's catalog, each a flexible id and a JSON object of
properties."""
