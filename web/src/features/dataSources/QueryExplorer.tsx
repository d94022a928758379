// Tries a query against one data source: PromQL, or a LogQL metric query, drawn as a chart
// (QueryMetrics); on Loki, log lines listed (QueryLogs). The server's complaint about the
// query shows at the query field.
import { DataSource_Kind } from "@aiops/client";
import { useEffect, useRef, useState } from "react";
import { useStore } from "react-redux";
import { useClients } from "../../app/clients";
import type { AppStore } from "../../app/store";
import { Field } from "../../components/Field";
import { formatDateTime, formatNumber } from "../../utils/format";
import { TimeChart, type ChartLine } from "../charts/TimeChart";
import {
  LOG_LIMIT,
  TIME_RANGES,
  autoStep,
  formatLogTime,
  metricsSummary,
  parseStep,
  rangeSeconds,
  runLogsQuery,
  runMetricsQuery,
  toQueryError,
  type QueryError,
  type QueryMode,
  type QueryResult,
} from "./explorer";

const useAppStore = useStore.withTypes<AppStore>();

const PLACEHOLDER: Record<QueryMode, Record<"prometheus" | "loki", string>> = {
  metrics: { prometheus: "sum by (job) (rate(http_requests_total[5m]))", loki: 'sum(count_over_time({app="api"} |= "error" [1m]))' },
  logs: { prometheus: "", loki: '{app="api"} |= "error"' },
};

export function QueryExplorer({ name, kind }: { name: string; kind: DataSource_Kind }) {
  const clients = useClients();
  const clock = useAppStore().extra.clock;
  const loki = kind === DataSource_Kind.LOKI;
  const [mode, setMode] = useState<QueryMode>(loki ? "logs" : "metrics");
  const [query, setQuery] = useState("");
  const [range, setRange] = useState("1h");
  const [stepText, setStepText] = useState("");
  const [stepError, setStepError] = useState<string | undefined>();
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<QueryResult | null>(null);
  const [error, setError] = useState<QueryError | null>(null);
  const [runs, setRuns] = useState(0);
  const controller = useRef<AbortController | null>(null);
  const queryRef = useRef<HTMLTextAreaElement>(null);
  const stepRef = useRef<HTMLInputElement>(null);
  const effectiveMode: QueryMode = loki ? mode : "metrics";

  // A run still going when the page goes is of no use.
  useEffect(() => () => controller.current?.abort(), []);

  const run = async () => {
    const step = parseStep(stepText);
    setStepError(step.error);
    if (step.error) return;
    if (query.trim() === "") {
      setError({ message: "Type a query first.", query: "Type a query first." });
      queryRef.current?.focus();
      return;
    }
    controller.current?.abort();
    const current = new AbortController();
    controller.current = current;
    setRunning(true);
    setError(null);
    const request = { dataSource: name, query, range: rangeSeconds(range), step: step.step, now: clock.now() };
    try {
      const answer =
        effectiveMode === "logs"
          ? await runLogsQuery(clients, request, current.signal)
          : await runMetricsQuery(clients, request, current.signal);
      if (current.signal.aborted) return;
      setResult(answer);
      setRuns((n) => n + 1);
    } catch (err) {
      if (current.signal.aborted) return;
      const queryError = toQueryError(err);
      setError(queryError);
      setResult(null);
      if (queryError.query !== undefined) queryRef.current?.focus();
      else if (queryError.step !== undefined) stepRef.current?.focus();
    } finally {
      if (controller.current === current) {
        controller.current = null;
        setRunning(false);
      }
    }
  };

  const lines: ChartLine[] =
    result?.kind === "metrics" ? result.series.map((s) => ({ field: s.field, label: s.label, color: s.color })) : [];
  const placeholder = PLACEHOLDER[effectiveMode][loki ? "loki" : "prometheus"];

  return (
    <section className="card explorer" aria-labelledby="explorer-heading">
      <h2 id="explorer-heading">Query explorer</h2>
      <form
        className="explorer-form"
        aria-label="Query explorer"
        onSubmit={(event) => {
          event.preventDefault();
          void run();
        }}
      >
        <Field
          label="Query"
          error={error?.query}
          hint={
            effectiveMode === "logs"
              ? `A LogQL log query; the newest ${LOG_LIMIT} lines of the range.`
              : loki
                ? "A LogQL metric query, such as count_over_time(…[1m])."
                : "A PromQL expression. Ctrl+Enter runs it."
          }
        >
          {(props) => (
            <textarea
              {...props}
              ref={queryRef}
              className="mono"
              rows={3}
              value={query}
              placeholder={placeholder}
              spellCheck={false}
              onChange={(event) => setQuery(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
                  event.preventDefault();
                  void run();
                }
              }}
            />
          )}
        </Field>
        <div className="explorer-controls">
          {loki && (
            <Field label="Mode">
              {(props) => (
                <select {...props} value={mode} onChange={(event) => setMode(event.target.value as QueryMode)}>
                  <option value="logs">Logs</option>
                  <option value="metrics">Metrics</option>
                </select>
              )}
            </Field>
          )}
          <Field label="Time range">
            {(props) => (
              <select {...props} value={range} onChange={(event) => setRange(event.target.value)}>
                {TIME_RANGES.map((r) => (
                  <option key={r.value} value={r.value}>
                    {r.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {effectiveMode === "metrics" && (
            <Field label="Step (seconds)" error={stepError ?? error?.step}>
              {(props) => (
                <input
                  {...props}
                  ref={stepRef}
                  type="number"
                  min={1}
                  step={1}
                  value={stepText}
                  placeholder={`auto (${autoStep(rangeSeconds(range))})`}
                  onChange={(event) => setStepText(event.target.value)}
                />
              )}
            </Field>
          )}
          <button type="submit" className="button-primary" disabled={running}>
            {running ? "Running…" : "Run query"}
          </button>
        </div>
      </form>
      {error && error.query === undefined && error.step === undefined && (
        <div role="alert" className="form-errors">
          <p>{error.message}</p>
        </div>
      )}
      {result?.kind === "metrics" && (
        <div className="explorer-result">
          <p role="status" className="small" data-testid="query-summary">
            {metricsSummary(result)}
          </p>
          {result.warnings.map((warning) => (
            <p key={warning} className="warning small">
              {warning}
            </p>
          ))}
          {result.series.length > 0 && (
            <>
              <TimeChart key={runs} buffer={result.buffer} lines={lines} title="Query result" height={240} />
              <ul className="legend" aria-label="Series">
                {result.series.map((s) => (
                  <li key={s.field}>
                    <span className="legend-swatch" style={{ background: s.color }} aria-hidden="true" />
                    <code>{s.label}</code>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
      {result?.kind === "logs" && (
        <div className="explorer-result">
          <p role="status" className="small" data-testid="query-summary">
            {result.lines.length === 0
              ? "No lines: the query matched nothing in the range."
              : `${formatNumber(result.lines.length, 6)} lines from ${result.streams} ${result.streams === 1 ? "stream" : "streams"}, newest first`}
          </p>
          {result.warnings.map((warning) => (
            <p key={warning} className="warning small">
              {warning}
            </p>
          ))}
          {result.lines.length > 0 && (
            <div className="table-scroll log-scroll">
              <table className="table log-lines" aria-label="Log lines">
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Labels</th>
                    <th scope="col">Line</th>
                  </tr>
                </thead>
                <tbody>
                  {result.lines.map((line) => (
                    <tr key={line.key}>
                      <td className="mono nowrap" title={formatDateTime(line.time)}>
                        {formatLogTime(line.time)}
                      </td>
                      <td className="mono small">{line.labels}</td>
                      <td className="mono log-line">{line.line}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
