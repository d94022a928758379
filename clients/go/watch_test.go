package aiops_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	aiops "github.com/aiops-dev/aiops/clients/go"
	aiopsv1 "github.com/aiops-dev/aiops/clients/go/aiops/v1"
)

// breakableEvents is the real EventService client, but the test can cancel the stream
// that is open now, as a broken connection would end it.
type breakableEvents struct {
	aiopsv1.EventServiceClient
	mu         sync.Mutex
	cancel     context.CancelFunc
	requests   []*aiopsv1.SubscribeRequest
	subscribed chan struct{}
}

func newBreakableEvents() *breakableEvents {
	return &breakableEvents{EventServiceClient: api.Events, subscribed: make(chan struct{}, 100)}
}

func (b *breakableEvents) Subscribe(ctx context.Context, req *aiopsv1.SubscribeRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[aiopsv1.Event], error) {
	ctx, cancel := context.WithCancel(ctx)
	b.mu.Lock()
	b.cancel = cancel
	b.requests = append(b.requests, req)
	b.mu.Unlock()
	b.subscribed <- struct{}{}
	return b.EventServiceClient.Subscribe(ctx, req, opts...)
}

// breakStream cancels the stream open now.
func (b *breakableEvents) breakStream() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cancel()
}

// statusEvents collects the DETECTOR_STATUS events of one detector that Watch yields.
func watchDetector(t *testing.T, ctx context.Context, client aiopsv1.EventServiceClient, detector string) (<-chan *aiopsv1.Event, <-chan error) {
	t.Helper()
	events, errs := make(chan *aiopsv1.Event, 100), make(chan error, 1)
	go func() {
		defer close(events)
		req := &aiopsv1.SubscribeRequest{
			Types:     []aiopsv1.EventType{aiopsv1.EventType_EVENT_TYPE_DETECTOR_STATUS},
			Detectors: []string{detector},
		}
		for event, err := range aiops.Watch(ctx, client, req, aiops.WithBackoff(time.Millisecond, 20*time.Millisecond)) {
			if err != nil {
				errs <- err
				return
			}
			if event.GetHeartbeat() != nil {
				t.Errorf("Watch yielded a heartbeat: %v", event)
			}
			events <- event
		}
	}()
	return events, errs
}

// next waits for the next event from events.
func next(t *testing.T, events <-chan *aiopsv1.Event) *aiopsv1.Event {
	t.Helper()
	select {
	case event, ok := <-events:
		if !ok {
			t.Fatal("Watch ended")
		}
		return event
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return nil
}

// toggle starts then stops the detector: two state changes, each a DETECTOR_STATUS event
// (the pipeline may add a DEGRADED one in between, as the detector's Prometheus is absent).
func toggle(t *testing.T, detector string) {
	t.Helper()
	if _, err := api.Detectors.StartDetector(t.Context(), &aiopsv1.StartDetectorRequest{Name: detector}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Detectors.StopDetector(t.Context(), &aiopsv1.StopDetectorRequest{Name: detector}); err != nil {
		t.Fatal(err)
	}
}

// untilStopped reads events up to and including the one that says the detector stopped.
func untilStopped(t *testing.T, events <-chan *aiopsv1.Event) []*aiopsv1.Event {
	t.Helper()
	var got []*aiopsv1.Event
	for {
		event := next(t, events)
		got = append(got, event)
		if event.GetDetectorStatus().GetState() == aiopsv1.Detector_STATE_STOPPED {
			return got
		}
	}
}

func TestWatchDeliversAndResumesWithoutGapOrDuplicate(t *testing.T) {
	ds := createDataSource(t, uniqueID("go-watch-ds"), &aiopsv1.DataSource{
		Kind: aiopsv1.DataSource_KIND_PROMETHEUS, Urls: []string{"http://127.0.0.1:9"},
	})
	det := createDetector(t, uniqueID("go-watch-det"), ds.GetName())

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	client := newBreakableEvents()
	events, errs := watchDetector(t, ctx, client, det.GetName())
	<-client.subscribed
	// Wait for the stream to be up: Watch subscribes, and the first heartbeat fixes "live".
	time.Sleep(500 * time.Millisecond)

	toggle(t, det.GetName())
	first := untilStopped(t, events)
	if first[0].GetDetectorStatus().GetState() == aiopsv1.Detector_STATE_STOPPED {
		t.Fatalf("the first event is the stop: %v", first)
	}

	// Break the stream, change the detector while Watch is between streams, and again.
	client.breakStream()
	toggle(t, det.GetName())
	<-client.subscribed
	toggle(t, det.GetName())
	rest := append(untilStopped(t, events), untilStopped(t, events)...)

	all := append(first, rest...)
	for i, event := range all {
		if event.GetDetectorStatus().GetDetector() != det.GetName() {
			t.Errorf("event %d is not of %s: %v", i, det.GetName(), event)
		}
		if i > 0 && event.GetSequence() <= all[i-1].GetSequence() {
			t.Errorf("event %d has sequence %d after %d: a duplicate or out of order", i, event.GetSequence(), all[i-1].GetSequence())
		}
	}
	stops := 0
	for _, event := range all {
		if event.GetDetectorStatus().GetState() == aiopsv1.Detector_STATE_STOPPED {
			stops++
		}
	}
	if stops != 3 {
		t.Errorf("got %d stops, want 3: %v", stops, all)
	}

	// The resumed stream asked for the events after the last one Watch yielded.
	client.mu.Lock()
	resumed := client.requests[1]
	client.mu.Unlock()
	if resumed.GetAfterSequence() != first[len(first)-1].GetSequence() {
		t.Errorf("resumed after %d, want %d", resumed.GetAfterSequence(), first[len(first)-1].GetSequence())
	}

	cancel()
	for range events { // Watch ends when ctx does, without an error
	}
	select {
	case err := <-errs:
		t.Errorf("Watch ended with %v", err)
	default:
	}
}

func TestWatchReturnsInvalidArgument(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	client := newBreakableEvents()
	var got error
	for _, err := range aiops.Watch(ctx, client, &aiopsv1.SubscribeRequest{AfterSequence: -1}) {
		got = err
	}
	if status.Code(got) != codes.InvalidArgument || aiops.FieldViolations(got)["after_sequence"] == "" {
		t.Fatalf("Watch ended with %v, want INVALID_ARGUMENT on after_sequence", got)
	}
	if n := len(client.requests); n != 1 {
		t.Errorf("Watch subscribed %d times, want once", n)
	}
}

func TestWatchReconnectsASilentStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// A client whose first stream never says anything: the watchdog must give it up.
	client := &silentFirst{breakableEvents: newBreakableEvents()}
	for event, err := range aiops.Watch(ctx, client, &aiopsv1.SubscribeRequest{},
		aiops.WithHeartbeats(), aiops.WithFirstHeartbeatTimeout(300*time.Millisecond), aiops.WithBackoff(time.Millisecond, 10*time.Millisecond)) {
		if err != nil {
			t.Fatal(err)
		}
		if event.GetHeartbeat() == nil {
			continue
		}
		break // a heartbeat from the second stream
	}
	if ctx.Err() != nil || client.calls != 2 {
		t.Errorf("after %d subscriptions, ctx %v; want a heartbeat from the second", client.calls, ctx.Err())
	}
}

// silentFirst's first Subscribe gives a stream that blocks until cancelled.
type silentFirst struct {
	*breakableEvents
	calls int
}

func (s *silentFirst) Subscribe(ctx context.Context, req *aiopsv1.SubscribeRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[aiopsv1.Event], error) {
	s.calls++
	if s.calls == 1 {
		return silentStream{ctx: ctx}, nil
	}
	return s.breakableEvents.Subscribe(ctx, req, opts...)
}

type silentStream struct {
	grpc.ClientStream
	ctx context.Context
}

func (s silentStream) Recv() (*aiopsv1.Event, error) {
	<-s.ctx.Done()
	return nil, status.FromContextError(s.ctx.Err()).Err()
}
