// bench/fanout.py's subscriber harness, a module of its own so that the Go client's module
// stays the client; it builds against the client in this checkout.
module github.com/aiops-dev/aiops/bench/fanout-sub

go 1.26.0

require (
	connectrpc.com/connect v1.21.1
	github.com/aiops-dev/aiops/clients/go v0.0.0
	google.golang.org/grpc v1.85.0
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261026165753-2ffab32bce7e // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261019180522-ce908d29299b // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/aiops-dev/aiops/clients/go => ../../clients/go
