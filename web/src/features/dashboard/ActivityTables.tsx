// The dashboard's tables: what each detector's pipeline and each data source's requests did
// over the latest status interval, per server.
import { Link } from "react-router";
import { formatNumber, formatPercent, formatRate, formatSeconds, formatTime } from "../../utils/format";
import { resourceId } from "../../utils/proto";
import { errorRate, type ServerSnapshot } from "./systemStatus";

export function ActivityTables({ servers, showServer }: { servers: readonly ServerSnapshot[]; showServer: boolean }) {
  const detectors = servers.flatMap((s) => s.detectors.map((d) => ({ ...d, server: s.server })));
  const dataSources = servers.flatMap((s) =>
    s.dataSources.map((d) => ({ ...d, server: s.server, intervalSeconds: s.intervalSeconds })),
  );
  return (
    <>
      <h2>Detectors</h2>
      {detectors.length === 0 ? (
        <p className="empty">No detector runs here.</p>
      ) : (
        <div className="table-scroll">
          <table className="table" aria-label="Detector activity">
            <thead>
              <tr>
                <th scope="col">Detector</th>
                {showServer && <th scope="col">Server</th>}
                <th scope="col" className="cell-number">
                  Lag
                </th>
                <th scope="col" className="cell-number">
                  Last step
                </th>
                <th scope="col" className="cell-number">
                  Series
                </th>
              </tr>
            </thead>
            <tbody>
              {detectors.map((d) => (
                <tr key={`${d.server} ${d.detector}`} aria-label={d.detector}>
                  <td>
                    <Link to={`/detectors/${resourceId(d.detector)}`}>{d.detector}</Link>
                  </td>
                  {showServer && <td className="small">{d.server}</td>}
                  <td className="cell-number" data-testid="detector-lag">
                    {Number.isNaN(d.lagSeconds) ? <span className="muted">no point yet</span> : formatSeconds(d.lagSeconds)}
                  </td>
                  <td className="cell-number">{formatSeconds(d.stepSeconds)}</td>
                  <td className="cell-number">{formatNumber(d.series)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Data sources</h2>
      {dataSources.length === 0 ? (
        <p className="empty">No data source asked or checked here yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="table" aria-label="Data source activity">
            <thead>
              <tr>
                <th scope="col">Data source</th>
                {showServer && <th scope="col">Server</th>}
                <th scope="col" className="cell-number">
                  Requests
                </th>
                <th scope="col" className="cell-number">
                  Error rate
                </th>
                <th scope="col" className="cell-number">
                  Mean latency
                </th>
                <th scope="col">Last check</th>
              </tr>
            </thead>
            <tbody>
              {dataSources.map((d) => {
                const rate = errorRate(d);
                const check = d.lastCheck;
                return (
                  <tr key={`${d.server} ${d.dataSource}`} aria-label={d.dataSource}>
                    <td>
                      <Link to={`/data-sources/${resourceId(d.dataSource)}`}>{d.dataSource}</Link>
                    </td>
                    {showServer && <td className="small">{d.server}</td>}
                    <td className="cell-number">
                      {formatNumber(d.requests)}
                      {d.intervalSeconds ? (
                        <div className="muted small">{formatRate(d.requests / d.intervalSeconds)}</div>
                      ) : null}
                    </td>
                    <td className={`cell-number${rate > 0 ? " text-crit" : ""}`}>
                      {formatPercent(rate)}
                      {d.errors > 0 && <div className="small">{formatNumber(d.errors)} failed</div>}
                    </td>
                    <td className="cell-number">{formatSeconds(d.meanLatencySeconds)}</td>
                    <td>
                      {check === null ? (
                        <span className="muted">none yet</span>
                      ) : (
                        <>
                          <span className={`badge ${check.reachable ? "health-up" : "health-down"}`}>
                            {check.reachable ? "Reachable" : "Unreachable"}
                          </span>{" "}
                          <span className="small">
                            {formatTime(check.time)} · {formatSeconds(check.latencySeconds)}
                          </span>
                          {!check.reachable && check.error && <div className="state-reason">{check.error}</div>}
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
