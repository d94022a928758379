"""Server reflection, so that grpcurl and ghz need no .proto files.

grpcio's reflection asks the descriptor pool for the file of whatever symbol a client names;
Python protobuf's pool knows services and messages but not methods, and ghz names the method
(`aiops.v1.EventService.Subscribe`). A method's file is its service's file."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pool
from grpc_reflection.v1alpha import reflection


class MethodAwarePool:
    """The default descriptor pool, which also finds the file of a method."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    def FindFileContainingSymbol(self, symbol: str) -> Any:
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            service_name, _, method = symbol.rpartition(".")
            service = self._pool.FindServiceByName(service_name)  # KeyError: not a method
            if method not in service.methods_by_name:
                raise
            return service.file


def enable_reflection(service_names: tuple[str, ...], server: grpc.aio.Server) -> None:
    pool = MethodAwarePool(descriptor_pool.Default())
    reflection.enable_server_reflection((*service_names, reflection.SERVICE_NAME), server, pool)
