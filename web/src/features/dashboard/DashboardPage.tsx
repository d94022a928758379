// The system dashboard: what the servers say they are doing (SERVER_STATUS, every couple of
// seconds, over a stream of its own while the page is open): connections, events, CPU and
// memory now and over time, each detector's lag and each data source's requests.
import { EventType, type Event } from "@aiops/client";
import { useCallback, useState, useSyncExternalStore } from "react";
import { formatBytes, formatNumber, formatRate, formatSeconds, formatTime } from "../../utils/format";
import { TimeChart, type ChartLine } from "../charts/TimeChart";
import { useLiveEvents } from "../connection/useLiveEvents";
import { ActivityTables } from "./ActivityTables";
import { ALL_SERVERS, SystemStatus, totals, type ServerSnapshot } from "./systemStatus";

const REQUEST = { types: [EventType.SERVER_STATUS] };

const CHARTS: { title: string; lines: ChartLine[] }[] = [
  { title: "Open streams", lines: [{ field: "openStreams", label: "Open streams", color: "#2857c5" }] },
  { title: "Events per second", lines: [{ field: "eventsPerSecond", label: "Events/s", color: "#c77700" }] },
  { title: "CPU (cores)", lines: [{ field: "cpuCores", label: "CPU cores", color: "#1d7a3a" }] },
  { title: "Memory (MiB)", lines: [{ field: "memoryMiB", label: "Memory MiB", color: "#8e44ad" }] },
];

function Stat({ label, value, testId, hint }: { label: string; value: string; testId: string; hint?: string }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd data-testid={testId}>{value}</dd>
      {hint && <dd className="stat-hint">{hint}</dd>}
    </div>
  );
}

function uptimeOf(server: ServerSnapshot): number | null {
  return server.startTime === null ? null : Math.max(0, (server.time - server.startTime) / 1000);
}

export function DashboardPage() {
  const [model] = useState(() => new SystemStatus());
  const onEvent = useCallback((event: Event) => void model.receive(event), [model]);
  const { live, error } = useLiveEvents(REQUEST, onEvent);
  const { servers } = useSyncExternalStore(model.subscribe, model.getSnapshot);
  const [chosen, setChosen] = useState(ALL_SERVERS);
  const selected = servers.some((s) => s.server === chosen) ? chosen : ALL_SERVERS;
  const shown = selected === ALL_SERVERS ? servers : servers.filter((s) => s.server === selected);
  const now = totals(shown);
  const several = servers.length > 1;

  return (
    <section className="page dashboard" aria-labelledby="dashboard-heading">
      <div className="page-header">
        <h1 id="dashboard-heading">System</h1>
        <span className={`badge ${live ? "health-up" : ""}`} data-testid="status-stream">
          {live ? "Live" : error ? "Reconnecting" : "Connecting"}
        </span>
        {several && (
          <label className="inline-field">
            Server{" "}
            <select value={selected} onChange={(event) => setChosen(event.target.value)}>
              <option value={ALL_SERVERS}>All {servers.length} servers</option>
              {servers.map((s) => (
                <option key={s.server} value={s.server}>
                  {s.server}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {error && (
        <div role="alert" className="form-errors">
          <p>The status stream failed: {error}. Trying again…</p>
        </div>
      )}
      {servers.length === 0 ? (
        <p role="status" className="empty">
          Waiting for the server's status…
        </p>
      ) : (
        <>
          <dl className="stats" aria-label={several && selected === ALL_SERVERS ? "All servers now" : "Now"}>
            <Stat label="Open streams" testId="open-streams" value={String(now.openStreams)} hint="connections" />
            <Stat
              label="Events"
              testId="events-per-second"
              value={formatRate(now.eventsPerSecond)}
              hint="stored events delivered"
            />
            <Stat label="CPU" testId="cpu-cores" value={`${formatNumber(now.cpuCores, 2)} cores`} />
            <Stat label="Memory" testId="memory" value={formatBytes(now.memoryBytes)} hint="resident" />
            <Stat
              label="Uptime"
              testId="uptime"
              value={formatSeconds(now.uptimeSeconds)}
              hint={several && selected === ALL_SERVERS ? "of the newest server" : undefined}
            />
          </dl>
          <p className="muted small" data-testid="status-time">
            As of {formatTime(now.time)}
            {now.intervalSeconds !== null && <> · measured over {formatSeconds(now.intervalSeconds)}</>}
            {several && selected === ALL_SERVERS && <> · totals over {servers.length} servers</>}
          </p>
          <div className="chart-grid">
            {CHARTS.map((chart) => (
              <TimeChart
                key={`${selected}-${chart.title}`}
                buffer={model.buffer(selected)}
                lines={chart.lines}
                title={chart.title}
                height={160}
              />
            ))}
          </div>
          {several && (
            <>
              <h2>Servers</h2>
              <div className="table-scroll">
                <table className="table" aria-label="Servers">
                  <thead>
                    <tr>
                      <th scope="col">Server</th>
                      <th scope="col">Uptime</th>
                      <th scope="col" className="cell-number">
                        Open streams
                      </th>
                      <th scope="col" className="cell-number">
                        Events/s
                      </th>
                      <th scope="col" className="cell-number">
                        CPU
                      </th>
                      <th scope="col" className="cell-number">
                        Memory
                      </th>
                      <th scope="col">Last status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {servers.map((s) => (
                      <tr key={s.server} aria-label={s.server}>
                        <td>
                          <button type="button" className="button-link" onClick={() => setChosen(s.server)}>
                            {s.server}
                          </button>
                        </td>
                        <td>{formatSeconds(uptimeOf(s))}</td>
                        <td className="cell-number">{s.openStreams}</td>
                        <td className="cell-number">{formatRate(s.eventsPerSecond)}</td>
                        <td className="cell-number">{formatNumber(s.cpuCores, 2)} cores</td>
                        <td className="cell-number">{formatBytes(s.memoryBytes)}</td>
                        <td>{formatTime(s.time)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
          <ActivityTables servers={shown} showServer={several && selected === ALL_SERVERS} />
        </>
      )}
    </section>
  );
}
