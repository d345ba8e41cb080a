"""The whole round: generators, files, orchestration and reports (issue #5)."""
