"""Scoring engine: criteria, judges' score sheets, aggregation, calibration, ranking and
explanations. Entry point: scoring.engine.score_proposals."""
