"""Ratings: a user's rating of an item, at a time."""
