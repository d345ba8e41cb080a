"""The gRPC service: server, servicer, proto <-> domain conversion, errors to status, config, CLI."""
