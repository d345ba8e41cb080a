"""Protobuf <-> domain conversion: requests become domain problems, results become responses.

The only place generated code meets the engines; `scoring/` and `matching/` never see protobuf.
"""
