// A data source's health over the probe's last 240 checks: latency over time with the failed
// checks as red markers, then each new check as the servers' SERVER_STATUS events bring it.
import { EventType, type Event } from "@aiops/client";
import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import { useClients } from "../../app/clients";
import { describeError } from "../../utils/errors";
import { formatSeconds, formatTime } from "../../utils/format";
import { TimeChart, type ChartLine } from "../charts/TimeChart";
import { useLiveEvents } from "../connection/useLiveEvents";
import { HealthHistory, LATENCY_COLOR, loadHealthChecks, toHealthCheckView } from "./health";

const REQUEST = { types: [EventType.SERVER_STATUS] };
const LINES: ChartLine[] = [{ field: "latency", label: "Check latency (ms)", color: LATENCY_COLOR, points: true }];

export function HealthHistoryPanel({ name }: { name: string }) {
  const clients = useClients();
  const [history] = useState(() => new HealthHistory());
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    loadHealthChecks(clients, name, controller.signal).then(
      (checks) => history.load(checks),
      (err: unknown) => {
        if (!controller.signal.aborted) setLoadError(describeError(err));
      },
    );
    return () => controller.abort();
  }, [clients, name, history]);

  const onEvent = useCallback(
    (event: Event) => {
      if (event.payload.case !== "serverStatus") return;
      for (const activity of event.payload.value.dataSources) {
        if (activity.dataSource !== name || activity.lastCheck === undefined) continue;
        const check = toHealthCheckView(activity.lastCheck);
        if (check !== null) history.append(check);
      }
    },
    [history, name],
  );
  const { error: liveError } = useLiveEvents(REQUEST, onEvent);
  const snapshot = useSyncExternalStore(history.subscribe, history.getSnapshot);
  const latest = snapshot.latest;

  return (
    <section className="card" aria-labelledby="health-history-heading">
      <h2 id="health-history-heading">Health history</h2>
      {loadError && (
        <p role="alert" className="row-error">
          Could not load the health history: {loadError}
        </p>
      )}
      {liveError && <p className="muted small">Live checks paused: {liveError}</p>}
      {!snapshot.loaded && snapshot.count === 0 && !loadError ? (
        <p role="status" className="muted">
          Loading the health history…
        </p>
      ) : snapshot.count === 0 ? (
        <p className="muted">No checks yet: the server's probe checks every data source every 15 seconds or so.</p>
      ) : (
        <>
          <p className="small" data-testid="health-summary">
            {snapshot.count} checks, {snapshot.failed} failed
            {latest && (
              <>
                {" "}
                · latest at {formatTime(latest.time)}: {latest.reachable ? "reachable" : "unreachable"} in{" "}
                {formatSeconds(latest.latencySeconds)}
              </>
            )}
          </p>
          <TimeChart
            buffer={history.buffer}
            lines={LINES}
            markers={snapshot.markers}
            title="Check latency (ms); failed checks in red"
            height={180}
          />
          {snapshot.recentFailures.length > 0 && (
            <>
              <h3 className="small">Latest failed checks</h3>
              <ul className="failures" aria-label="Failed checks">
                {snapshot.recentFailures.map((check) => (
                  <li key={check.time}>
                    <span className="muted">{formatTime(check.time)}</span> {check.error || "unreachable"}
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}
