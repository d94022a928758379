// Command fanout-sub is the subscriber side of bench/fanout.py: it holds N
// EventService.Subscribe streams over C connections and tells the driver, in JSON lines on
// stdout, when they are up and what they received.
//
// It speaks the protocol of bench/fanout.py's Python subscriber processes, so that the driver
// reads either: one line once every stream has its first heartbeat ({"up", "open_s"}); then
// it reads one command line on stdin ({"first", "last", "grace"}: the sequences published and
// how long to wait for the last), waits until every stream has the last one, has ended, or
// the grace has passed, and answers one line with the counts and the latency histogram.
//
// Latency is the wall clock at receipt minus the event's time, in bins of 0.1 ms; one Go
// process holds every stream, so that the subscribers take a small share of the machine.
//
// With -grpcweb URL the streams are grpc-web calls to an Envoy at URL (connect-go's grpc-web
// protocol, as the UI's connect-web sends them), each on its own HTTP/1.1 connection as a
// browser tab's stream is; otherwise gRPC over -connections HTTP/2 connections to -address.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	aiops "github.com/aiops-dev/aiops/clients/go"
	aiopsv1 "github.com/aiops-dev/aiops/clients/go/aiops/v1"
)

const (
	binMs  = 0.1     // latency histogram resolution, as bench/fanout.py's BIN_MS
	maxBin = 600_000 // 60 s; later receipts land in the last bin (the max is kept exactly)
)

// stream is one Subscribe stream. Its goroutine alone writes the plain fields, which are read
// once it has ended; last and the flags are read by the driver's goroutine while it runs.
type stream struct {
	last     atomic.Int64
	ended    atomic.Bool // its goroutine has returned
	finished atomic.Bool // counted off in the tally

	up       bool
	first    int64
	received int64
	disorder int64 // duplicates or events out of order (there should be none)
	maxMs    float64
	err      string
}

// tally counts down the streams that still wait for the last event.
type tally struct {
	target    atomic.Int64
	remaining atomic.Int64
	allDone   chan struct{}
}

func (t *tally) finish(s *stream) {
	if s.finished.CompareAndSwap(false, true) && t.remaining.Add(-1) == 0 {
		close(t.allDone)
	}
}

// histogram counts latencies in bins of binMs, shared by all the streams.
type histogram [maxBin + 1]atomic.Uint32

func (h *histogram) add(ms float64) {
	bin := int(math.Max(0, math.Min(ms/binMs, maxBin)))
	h[bin].Add(1)
}

type command struct {
	First int64   `json:"first"`
	Last  int64   `json:"last"`
	Grace float64 `json:"grace"`
}

type report struct {
	Streams      int            `json:"streams"`
	Up           int            `json:"up"`
	Received     int64          `json:"received"`
	FirstMin     int64          `json:"first_min"`
	LastMax      int64          `json:"last_max"`
	Disorder     int64          `json:"disorder"`
	Errors       map[string]int `json:"errors"`
	Incomplete   int            `json:"incomplete"`
	MissingEnded int64          `json:"missing_ended"`
	MissingOpen  int64          `json:"missing_open"`
	DrainS       float64        `json:"drain_s"`
	MaxMs        float64        `json:"max_ms"`
	Bins         []int          `json:"bins"`
	Counts       []uint32       `json:"counts"`
}

func main() {
	address := flag.String("address", "", "the server, host:port")
	grpcWeb := flag.String("grpcweb", "", "instead of -address: an Envoy's URL, for grpc-web streams")
	count := flag.Int("streams", 1000, "Subscribe streams")
	connections := flag.Int("connections", 10, "connections (HTTP/2) the streams are spread over")
	opening := flag.Int("opening", 100, "streams opened at a time")
	flag.Parse()
	if (*address == "") == (*grpcWeb == "") || *count < 1 || *connections < 1 || *opening < 1 {
		flag.Usage()
		os.Exit(2)
	}
	var openers []opener
	if *grpcWeb != "" {
		openers = []opener{grpcWebOpener(*grpcWeb)}
	} else {
		for range *connections {
			client, err := aiops.Dial(*address) // a connection each
			if err != nil {
				log.Fatal(err)
			}
			defer client.Close()
			openers = append(openers, grpcOpener(client.Events))
		}
	}
	if err := run(openers, *count, *opening); err != nil {
		log.Fatal(err)
	}
}

// opener opens one Subscribe stream and returns what receives its next event.
type opener func(ctx context.Context) (func() (*aiopsv1.Event, error), error)

func grpcOpener(events aiopsv1.EventServiceClient) opener {
	return func(ctx context.Context) (func() (*aiopsv1.Event, error), error) {
		call, err := events.Subscribe(ctx, &aiopsv1.SubscribeRequest{})
		if err != nil {
			return nil, err
		}
		return call.Recv, nil
	}
}

func grpcWebOpener(url string) opener {
	// HTTP/1.1: a stream holds its connection until it ends, so each has one of its own.
	transport := &http.Transport{MaxIdleConnsPerHost: 100_000}
	client := connect.NewClient[aiopsv1.SubscribeRequest, aiopsv1.Event](
		&http.Client{Transport: transport},
		strings.TrimSuffix(url, "/")+aiopsv1.EventService_Subscribe_FullMethodName,
		connect.WithGRPCWeb(),
	)
	return func(ctx context.Context) (func() (*aiopsv1.Event, error), error) {
		call, err := client.CallServerStream(ctx, connect.NewRequest(&aiopsv1.SubscribeRequest{}))
		if err != nil {
			return nil, err
		}
		return func() (*aiopsv1.Event, error) {
			if call.Receive() {
				return call.Msg(), nil
			}
			if err := call.Err(); err != nil {
				return nil, err
			}
			return nil, io.EOF
		}, nil
	}
}

func run(openers []opener, count, opening int) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		latencies histogram
		t         = tally{allDone: make(chan struct{})}
		streams   = make([]stream, count)
		slots     = make(chan struct{}, opening)
		opened    sync.WaitGroup
		running   sync.WaitGroup
	)
	began := time.Now()
	for k := range streams {
		s := &streams[k]
		slots <- struct{}{}
		opened.Add(1)
		running.Add(1)
		go func() {
			defer running.Done()
			s.follow(ctx, openers[k%len(openers)], &latencies, &t, func() {
				<-slots
				opened.Done()
			})
		}()
	}
	opened.Wait()
	up := 0
	for k := range streams {
		if streams[k].up {
			up++
		}
	}
	if err := say(map[string]any{"up": up, "open_s": time.Since(began).Seconds()}); err != nil {
		return err
	}

	line, err := bufio.NewReader(os.Stdin).ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return fmt.Errorf("reading the command: %w", err)
	}
	var c command
	if err := json.Unmarshal(line, &c); err != nil {
		return fmt.Errorf("reading the command: %w", err)
	}
	waiting := time.Now()
	t.remaining.Store(int64(count))
	t.target.Store(c.Last)
	for k := range streams {
		s := &streams[k]
		if c.Last == 0 || s.last.Load() >= c.Last || s.ended.Load() {
			t.finish(s)
		}
	}
	select {
	case <-t.allDone:
	case <-time.After(time.Duration(c.Grace * float64(time.Second))):
	}
	drain := time.Since(waiting).Seconds()
	cancel()
	running.Wait()
	return say(summarize(streams, &latencies, c, drain))
}

// follow runs one stream until it fails or ctx is done; opened is called once, when its
// first heartbeat has come or it failed before.
func (s *stream) follow(ctx context.Context, open opener, latencies *histogram, t *tally, opened func()) {
	defer func() {
		if !s.up {
			opened()
		}
		s.ended.Store(true)
		if t.target.Load() != 0 {
			t.finish(s)
		}
	}()
	receive, err := open(ctx)
	if err != nil {
		s.fail(err)
		return
	}
	for {
		event, err := receive()
		if err != nil {
			s.fail(err)
			return
		}
		now := time.Now()
		if event.GetHeartbeat() != nil {
			if !s.up {
				s.up = true
				opened()
			}
			continue
		}
		sequence := event.GetSequence()
		if sequence <= s.last.Load() {
			s.disorder++
			continue
		}
		ms := float64(now.Sub(event.GetTime().AsTime())) / float64(time.Millisecond)
		latencies.add(ms)
		s.maxMs = math.Max(s.maxMs, ms)
		s.received++
		s.last.Store(sequence)
		if s.first == 0 {
			s.first = sequence
		}
		if target := t.target.Load(); target != 0 && sequence >= target {
			t.finish(s)
		}
	}
}

// fail keeps the stream's error, unless it is the cancellation that ends every stream.
func (s *stream) fail(err error) {
	if errors.Is(err, io.EOF) {
		return
	}
	var webErr *connect.Error
	if errors.As(err, &webErr) { // grpc-web: codes spelled "resource_exhausted"
		if webErr.Code() != connect.CodeCanceled {
			s.err = strings.ToUpper(webErr.Code().String())
		}
		return
	}
	if code := status.Code(err); code != codes.Canceled {
		s.err = codeName(code)
	}
}

// codeName spells a code as Python's grpc.StatusCode does: RESOURCE_EXHAUSTED.
func codeName(code codes.Code) string {
	var name []rune
	for i, r := range code.String() {
		if i > 0 && unicode.IsUpper(r) {
			name = append(name, '_')
		}
		name = append(name, unicode.ToUpper(r))
	}
	return string(name)
}

func summarize(streams []stream, latencies *histogram, c command, drain float64) report {
	r := report{Streams: len(streams), Errors: map[string]int{}, DrainS: drain, Bins: []int{}, Counts: []uint32{}}
	each := int64(0)
	if c.Last != 0 {
		each = max(0, c.Last-c.First+1)
	}
	for k := range streams {
		s := &streams[k]
		r.Received += s.received
		r.Disorder += s.disorder
		r.MaxMs = math.Max(r.MaxMs, s.maxMs)
		last := s.last.Load()
		r.LastMax = max(r.LastMax, last)
		if s.first != 0 && (r.FirstMin == 0 || s.first < r.FirstMin) {
			r.FirstMin = s.first
		}
		if s.err != "" {
			r.Errors[s.err]++
		}
		if !s.up {
			continue
		}
		r.Up++
		switch {
		case s.err != "": // what the streams ended by the server missed
			r.MissingEnded += each - s.received
		default: // and what the others had not yet got
			r.MissingOpen += each - s.received
			if last < c.Last {
				r.Incomplete++
			}
		}
	}
	for bin := range latencies {
		if n := latencies[bin].Load(); n != 0 {
			r.Bins = append(r.Bins, bin)
			r.Counts = append(r.Counts, n)
		}
	}
	return r
}

func say(message any) error {
	line, err := json.Marshal(message)
	if err != nil {
		return err
	}
	_, err = fmt.Printf("%s\n", line)
	return err
}
