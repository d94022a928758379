package aiops

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	aiopsv1 "github.com/aiops-dev/aiops/clients/go/aiops/v1"
)

// Client holds one connection to an aiops server and a stub of each service on it.
type Client struct {
	DataSources aiopsv1.DataSourceServiceClient
	Detectors   aiopsv1.DetectorServiceClient
	Events      aiopsv1.EventServiceClient

	conn *grpc.ClientConn
}

// Dial connects to the aiops server at target, such as "localhost:50051".
//
// The connection is plaintext unless opts set grpc.WithTransportCredentials: the server
// listens without TLS by default, and options apply in order, so a caller's credentials
// replace the default. (grpc.WithCredentialsBundle cannot be combined with the default;
// wrap a bundle's transport credentials in grpc.WithTransportCredentials instead.)
//
// Like grpc.NewClient, Dial does not wait for the server: the first call connects.
func Dial(target string, opts ...grpc.DialOption) (*Client, error) {
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, err
	}
	return &Client{
		DataSources: aiopsv1.NewDataSourceServiceClient(conn),
		Detectors:   aiopsv1.NewDetectorServiceClient(conn),
		Events:      aiopsv1.NewEventServiceClient(conn),
		conn:        conn,
	}, nil
}

// Close closes the connection; calls in flight fail with codes.Canceled.
func (c *Client) Close() error {
	return c.conn.Close()
}
