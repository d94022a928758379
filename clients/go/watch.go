package aiops

import (
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	aiopsv1 "github.com/aiops-dev/aiops/clients/go/aiops/v1"
)

// WatchOption configures Watch.
type WatchOption func(*watchOptions)

type watchOptions struct {
	backoffBase, backoffCap time.Duration
	heartbeats              bool
	firstHeartbeat          time.Duration
}

// WithBackoff sets the reconnect delay: before the nth reconnect in a row, Watch waits a
// random time between 0 and min(limit, base·2ⁿ) ("full jitter"). The default is 100 ms, 5 s.
func WithBackoff(base, limit time.Duration) WatchOption {
	return func(o *watchOptions) { o.backoffBase, o.backoffCap = base, limit }
}

// WithHeartbeats makes Watch yield heartbeats too; by default it keeps them to itself.
func WithHeartbeats() WatchOption {
	return func(o *watchOptions) { o.heartbeats = true }
}

// WithFirstHeartbeatTimeout sets how long Watch waits for a new stream's first message
// before it gives the stream up as dead, until a heartbeat has told it the interval.
// The default is 10 s.
func WithFirstHeartbeatTimeout(d time.Duration) WatchOption {
	return func(o *watchOptions) { o.firstHeartbeat = d }
}

// errStreamSilent cancels a stream that stayed silent for three heartbeat intervals.
var errStreamSilent = errors.New("aiops: no heartbeat for three intervals")

// Watch subscribes to events and keeps subscribing: it yields each event of req's
// selection once, in sequence order, with no gap, across any number of broken streams.
//
// Watch remembers the sequence of the last event it yielded (or, when req.AfterSequence
// is 0, of the first heartbeat, so "live only" starts from when Watch was called). When
// a stream fails — the server shuts down, drops a slow stream, the network breaks, or
// nothing, not even a heartbeat, arrives for three heartbeat intervals — Watch
// subscribes again with AfterSequence set to it, after a capped exponential backoff with
// full jitter (WithBackoff). An event with a Reset payload means the server no longer
// kept all the events asked for: reload the state you keep, then carry on.
//
// Heartbeats are not yielded unless WithHeartbeats is given. The sequence ends, with no
// error, when ctx is done or the loop breaks; it ends with an error (yielded once) only
// when the server rejects the request as INVALID_ARGUMENT, which no retry would fix.
func Watch(ctx context.Context, client aiopsv1.EventServiceClient, req *aiopsv1.SubscribeRequest, opts ...WatchOption) iter.Seq2[*aiopsv1.Event, error] {
	o := watchOptions{backoffBase: 100 * time.Millisecond, backoffCap: 5 * time.Second, firstHeartbeat: 10 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	return func(yield func(*aiopsv1.Event, error) bool) {
		last := req.GetAfterSequence()
		started := last != 0 // whether last is a position to resume from
		silence := o.firstHeartbeat
		failures := 0
		for ctx.Err() == nil {
			request := proto.Clone(req).(*aiopsv1.SubscribeRequest)
			request.AfterSequence = last
			received, stop, err := watchOnce(ctx, client, request, silence, func(event *aiopsv1.Event) bool {
				if heartbeat := event.GetHeartbeat(); heartbeat != nil {
					if ms := heartbeat.GetIntervalMs(); ms > 0 {
						silence = 3 * time.Duration(ms) * time.Millisecond
					}
					if !started {
						last, started = event.GetSequence(), true
					}
					return !o.heartbeats || yield(event, nil)
				}
				if event.GetSequence() > last {
					last = event.GetSequence()
				}
				started = true
				return yield(event, nil)
			})
			if stop || ctx.Err() != nil {
				return
			}
			if status.Code(err) == codes.InvalidArgument {
				yield(nil, err)
				return
			}
			if received {
				failures = 0 // the stream was up: start the backoff again from its base
			}
			delay := min(o.backoffCap, o.backoffBase<<min(failures, 30))
			if delay <= 0 {
				delay = o.backoffCap
			}
			failures++
			timer := time.NewTimer(rand.N(delay + 1))
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
		}
	}
}

// watchOnce runs one stream until it fails, handing each message to deliver. It reports
// whether any message came, whether deliver asked to stop, and the stream's error.
func watchOnce(ctx context.Context, client aiopsv1.EventServiceClient, req *aiopsv1.SubscribeRequest,
	silence time.Duration, deliver func(*aiopsv1.Event) bool) (received, stop bool, err error) {
	streamCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The watchdog: a stream silent for too long is cancelled, and so fails below.
	watchdog := time.AfterFunc(silence, func() { cancel(errStreamSilent) })
	defer watchdog.Stop()
	stream, err := client.Subscribe(streamCtx, req)
	if err != nil {
		return false, false, err
	}
	for {
		event, err := stream.Recv()
		if err != nil {
			return received, false, err
		}
		received = true
		if event.GetHeartbeat() != nil && event.GetHeartbeat().GetIntervalMs() > 0 {
			silence = 3 * time.Duration(event.GetHeartbeat().GetIntervalMs()) * time.Millisecond
		}
		// The caller's time with the event is not the stream's silence.
		watchdog.Stop()
		if !deliver(event) {
			return true, true, nil
		}
		watchdog.Reset(silence)
	}
}
