"""Interactions: what users and anonymous sessions did with items (a view, a purchase…), as
events of a type at a time; and anonymous sessions resolved to users."""
