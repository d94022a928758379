"""Generated aiops.v1 messages and gRPC stubs."""
