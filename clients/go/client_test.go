package aiops_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aiops "github.com/aiops-dev/aiops/clients/go"
	aiopsv1 "github.com/aiops-dev/aiops/clients/go/aiops/v1"
)

// api talks to the server every test shares: AIOPS_TEST_ADDRESS, or one TestMain starts.
// Tests make their own resources with unique ids, so a shared, non-empty server is fine.
var api *aiops.Client

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	address := os.Getenv("AIOPS_TEST_ADDRESS")
	if address == "" {
		started, stop, err := startServer()
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting the aiops server (or set AIOPS_TEST_ADDRESS):", err)
			return 1
		}
		defer stop()
		address = started
	}
	client, err := aiops.Dial(address)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer client.Close()
	api = client
	return m.Run()
}

// startServer runs the repository's server on a fresh SQLite file and a free port. It
// returns the address the server announces and a func that stops it.
func startServer() (address string, stop func(), err error) {
	binary, err := filepath.Abs(filepath.Join("..", "..", ".venv", "bin", "aiops"))
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "aiops-go-test-")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(binary,
		"--database-url", "sqlite+aiosqlite:///"+filepath.Join(dir, "aiops.db"),
		"--log-level", "WARNING", // the migration's INFO lines would clutter the test output
		"serve", "--grpc-address", "127.0.0.1:0", "--heartbeat-interval", "0.2")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop = func() {
		// The server handles SIGTERM before it announces its address, so this is always clean.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	}

	// Read stdout to its end, so that the server never blocks on a full pipe.
	announced := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if address, ok := strings.CutPrefix(lines.Text(), "aiops: serving on "); ok {
				announced <- address
			}
		}
		close(announced)
	}()
	select {
	case address, ok := <-announced:
		if !ok {
			stop()
			return "", nil, fmt.Errorf("%s exited without serving", binary)
		}
		return address, stop, nil
	case <-time.After(60 * time.Second):
		stop()
		return "", nil, fmt.Errorf("%s did not announce its address within 60s", binary)
	}
}

// uniqueID returns a valid resource id that no other test run uses.
func uniqueID(prefix string) string {
	return fmt.Sprintf("%s-%s-%04x", prefix, strconv.FormatInt(time.Now().UnixNano(), 36), rand.Uint32N(1<<16))
}

func prometheus() *aiopsv1.DataSource {
	return &aiopsv1.DataSource{
		Kind: aiopsv1.DataSource_KIND_PROMETHEUS,
		Urls: []string{"http://127.0.0.1:9090"},
	}
}

// createDataSource creates a Prometheus data source that is deleted when the test ends.
func createDataSource(t *testing.T, id string, ds *aiopsv1.DataSource) *aiopsv1.DataSource {
	t.Helper()
	created, err := api.DataSources.CreateDataSource(t.Context(), &aiopsv1.CreateDataSourceRequest{
		DataSource: ds, DataSourceId: id,
	})
	if err != nil {
		t.Fatalf("CreateDataSource(%s): %v", id, err)
	}
	t.Cleanup(func() {
		// Cleanups run last-in first-out: the data source's detectors are gone by now.
		_, _ = api.DataSources.DeleteDataSource(context.Background(), &aiopsv1.DeleteDataSourceRequest{Name: created.GetName()})
	})
	return created
}

// createDetector creates a stopped detector on dataSource that is deleted when the test ends.
func createDetector(t *testing.T, id, dataSource string) *aiopsv1.Detector {
	t.Helper()
	created, err := api.Detectors.CreateDetector(t.Context(), &aiopsv1.CreateDetectorRequest{
		Detector: &aiopsv1.Detector{
			DataSource: dataSource,
			Query:      `rate(http_requests_total{job="api"}[5m])`,
		},
		DetectorId: id,
	})
	if err != nil {
		t.Fatalf("CreateDetector(%s): %v", id, err)
	}
	t.Cleanup(func() {
		_, _ = api.Detectors.DeleteDetector(context.Background(), &aiopsv1.DeleteDetectorRequest{Name: created.GetName()})
	})
	return created
}

// wantError fails the test unless err has the code and ErrorInfo reason.
func wantError(t *testing.T, err error, code codes.Code, reason string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("got code %v (%v), want %v", got, err, code)
	}
	if got := aiops.Reason(err); got != reason {
		t.Errorf("got reason %q, want %q", got, reason)
	}
}

func TestDataSourceAndDetectorLifecycle(t *testing.T) {
	ctx := t.Context()
	dsID, detID := uniqueID("go-ds"), uniqueID("go-det")

	ds := createDataSource(t, dsID, prometheus())
	if ds.GetName() != "dataSources/"+dsID || ds.GetEtag() == "" {
		t.Fatalf("created data source %v", ds)
	}
	det := createDetector(t, detID, ds.GetName())
	if det.GetName() != "detectors/"+detID || det.GetState() != aiopsv1.Detector_STATE_STOPPED {
		t.Fatalf("created detector %v, want detectors/%s, stopped", det, detID)
	}

	got, err := api.Detectors.GetDetector(ctx, &aiopsv1.GetDetectorRequest{Name: det.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, det) {
		t.Errorf("GetDetector = %v, want %v", got, det)
	}

	listed, err := api.Detectors.ListDetectors(ctx, &aiopsv1.ListDetectorsRequest{
		Filter: fmt.Sprintf("data_source = %q", ds.GetName()),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed.GetDetectors()) != 1 || listed.GetDetectors()[0].GetName() != det.GetName() {
		t.Errorf("ListDetectors on %s = %v, want only %s", ds.GetName(), listed, det.GetName())
	}

	// The mask limits the update to display_name: the empty query is not written.
	updated, err := api.Detectors.UpdateDetector(ctx, &aiopsv1.UpdateDetectorRequest{
		Detector:   &aiopsv1.Detector{Name: det.GetName(), DisplayName: "API request rate"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.GetDisplayName() != "API request rate" || updated.GetQuery() != det.GetQuery() {
		t.Errorf("UpdateDetector = %v, want the new display name and the old query", updated)
	}
	if updated.GetEtag() == det.GetEtag() {
		t.Errorf("the etag did not change on update: %q", updated.GetEtag())
	}

	started, err := api.Detectors.StartDetector(ctx, &aiopsv1.StartDetectorRequest{Name: det.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	// A running detector may also be backfilling or degraded (its Prometheus is not there).
	running := []aiopsv1.Detector_State{
		aiopsv1.Detector_STATE_BACKFILLING, aiopsv1.Detector_STATE_RUNNING, aiopsv1.Detector_STATE_DEGRADED,
	}
	if !slices.Contains(running, started.GetState()) {
		t.Errorf("after StartDetector the state is %v", started.GetState())
	}
	stopped, err := api.Detectors.StopDetector(ctx, &aiopsv1.StopDetectorRequest{Name: det.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if stopped.GetState() != aiopsv1.Detector_STATE_STOPPED {
		t.Errorf("after StopDetector the state is %v", stopped.GetState())
	}

	if _, err := api.Detectors.DeleteDetector(ctx, &aiopsv1.DeleteDetectorRequest{Name: det.GetName()}); err != nil {
		t.Fatal(err)
	}
	_, err = api.Detectors.GetDetector(ctx, &aiopsv1.GetDetectorRequest{Name: det.GetName()})
	wantError(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")
	if _, err := api.DataSources.DeleteDataSource(ctx, &aiopsv1.DeleteDataSourceRequest{Name: ds.GetName()}); err != nil {
		t.Fatal(err)
	}
}

func TestListDataSourcesPages(t *testing.T) {
	// A display name of our own keeps other tests' data sources out of the pages.
	displayName := uniqueID("go-list")
	var want []string
	for i := range 3 {
		ds := prometheus()
		ds.DisplayName = displayName
		want = append(want, createDataSource(t, fmt.Sprintf("%s-%d", displayName, i), ds).GetName())
	}

	var got []string
	pages := 0
	request := &aiopsv1.ListDataSourcesRequest{PageSize: 2, Filter: fmt.Sprintf("display_name = %q", displayName)}
	for {
		page, err := api.DataSources.ListDataSources(t.Context(), request)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.GetDataSources()) > 2 {
			t.Errorf("page %d has %d data sources, more than page_size", pages, len(page.GetDataSources()))
		}
		for _, ds := range page.GetDataSources() {
			got = append(got, ds.GetName())
		}
		if page.GetNextPageToken() == "" {
			break
		}
		request.PageToken = page.GetNextPageToken()
	}
	// Listed in name order, and the ids' numeric suffixes sort the same way.
	if !slices.Equal(got, want) || pages != 2 {
		t.Errorf("listed %v in %d pages, want %v in 2", got, pages, want)
	}
}

func TestDuplicateIDIsAlreadyExists(t *testing.T) {
	id := uniqueID("go-dup")
	createDataSource(t, id, prometheus())
	_, err := api.DataSources.CreateDataSource(t.Context(), &aiopsv1.CreateDataSourceRequest{
		DataSource: prometheus(), DataSourceId: id,
	})
	wantError(t, err, codes.AlreadyExists, "RESOURCE_ALREADY_EXISTS")
}

func TestGetMissingIsNotFound(t *testing.T) {
	_, err := api.DataSources.GetDataSource(t.Context(), &aiopsv1.GetDataSourceRequest{Name: "dataSources/" + uniqueID("go-missing")})
	wantError(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")
	_, err = api.Detectors.GetDetector(t.Context(), &aiopsv1.GetDetectorRequest{Name: "detectors/" + uniqueID("go-missing")})
	wantError(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")
}

func TestInvalidArgumentNamesTheField(t *testing.T) {
	noURLs, emptyURL := prometheus(), prometheus()
	noURLs.Urls = nil
	emptyURL.Urls = []string{""}
	tests := []struct {
		name       string
		dataSource *aiopsv1.DataSource
		id         string
		field      string
	}{
		{"bad id", prometheus(), "Bad_ID", "data_source_id"},
		{"no urls", noURLs, uniqueID("go-invalid"), "data_source.urls"},
		{"empty url", emptyURL, uniqueID("go-invalid"), "data_source.urls[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := api.DataSources.CreateDataSource(t.Context(), &aiopsv1.CreateDataSourceRequest{
				DataSource: tt.dataSource, DataSourceId: tt.id,
			})
			wantError(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
			if violations := aiops.FieldViolations(err); violations[tt.field] == "" {
				t.Errorf("FieldViolations = %v, want one on %s", violations, tt.field)
			}
		})
	}

	t.Run("detector on a missing data source", func(t *testing.T) {
		_, err := api.Detectors.CreateDetector(t.Context(), &aiopsv1.CreateDetectorRequest{
			Detector: &aiopsv1.Detector{DataSource: "dataSources/" + uniqueID("go-missing"), Query: "up"},
		})
		wantError(t, err, codes.InvalidArgument, "INVALID_ARGUMENT")
		if violations := aiops.FieldViolations(err); violations["detector.data_source"] == "" {
			t.Errorf("FieldViolations = %v, want one on detector.data_source", violations)
		}
	})
}

func TestDeleteDataSourceInUseIsFailedPrecondition(t *testing.T) {
	ds := createDataSource(t, uniqueID("go-used"), prometheus())
	createDetector(t, uniqueID("go-user"), ds.GetName())

	_, err := api.DataSources.DeleteDataSource(t.Context(), &aiopsv1.DeleteDataSourceRequest{Name: ds.GetName()})
	wantError(t, err, codes.FailedPrecondition, "DATA_SOURCE_IN_USE")
	if violations := aiops.FieldViolations(err); violations != nil {
		t.Errorf("FieldViolations = %v, want nil: no field is wrong", violations)
	}
}

func TestSubscribeReceivesHeartbeat(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	stream, err := api.Events.Subscribe(ctx, &aiopsv1.SubscribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		event, err := stream.Recv()
		if err != nil {
			t.Fatalf("no heartbeat before: %v", err)
		}
		if heartbeat := event.GetHeartbeat(); heartbeat != nil {
			if heartbeat.GetIntervalMs() <= 0 {
				t.Errorf("heartbeat interval %d ms, want > 0", heartbeat.GetIntervalMs())
			}
			return
		}
	}
}

func TestErrorHelpersOnOtherErrors(t *testing.T) {
	for _, err := range []error{nil, errors.New("not a status"), status.Error(codes.Unavailable, "down")} {
		if got := aiops.Reason(err); got != "" {
			t.Errorf("Reason(%v) = %q, want empty", err, got)
		}
		if got := aiops.FieldViolations(err); got != nil {
			t.Errorf("FieldViolations(%v) = %v, want nil", err, got)
		}
	}
}
