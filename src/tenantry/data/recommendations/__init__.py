"""Recommendations: models trained per database from its ratings and interactions by the
durable job queue, kept as artefacts in the database's schema, and served through the
Crossing Minds API's recommendation, background-task and trained-model routes."""
