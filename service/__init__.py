"""The gRPC service: server, servicer, proto <-> domain conversion, errors -> status,
config, CLI and client."""
