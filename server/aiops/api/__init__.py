"""Thin gRPC servicers: validate the request, call the store, map rows to messages."""
