"""Scoring engine: criteria, judges' score sheets, aggregation, calibration, ranking, explanations."""
