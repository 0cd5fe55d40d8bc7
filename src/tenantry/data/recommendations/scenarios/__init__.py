"""Scenarios: named business rules of the recommendations (filters, reranking, excluding
rated items, how many), chosen by name at request time or as the default of a kind of
recommendation; `case` scenarios hold the rules, `ab_test`, `condition` and `alias`
scenarios point to others, forming a graph without cycles whose ends are cases."""
