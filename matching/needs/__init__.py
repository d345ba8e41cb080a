"""Needs matching (MatchNeeds): funded organizations to the community needs they will serve,
optimal or max-min fair, with ranked and explained alternatives. Entry point: engine.match_needs."""
