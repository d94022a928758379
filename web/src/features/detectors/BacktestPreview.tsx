// The form's preview: what the detector being typed would have made of the last hours or days
// of its query (BacktestDetector over a range; nothing is saved). It runs again once the
// settings stop changing; the charts show the first few series, the tables every anomaly.
import { Severity } from "@aiops/client";
import { useId, useMemo, useState, type ReactNode } from "react";
import { useStore } from "react-redux";
import { useClients } from "../../app/clients";
import type { AppStore } from "../../app/store";
import type { ActionError } from "../../utils/errors";
import { formatDateTime, formatNumber } from "../../utils/format";
import { formatLabels, SEVERITY_TEXT, type AnomalyView } from "../anomalies/model";
import { ChartBuffer } from "../charts/buffer";
import { TimeChart } from "../charts/TimeChart";
import { severityClass } from "../notifications/links";
import type { DetectorSpec } from "./model";
import {
  anomalyMarkers,
  DEFAULT_PREVIEW_RANGE,
  formatSpan,
  MAX_PREVIEW_CHARTS,
  MAX_PREVIEW_POINTS,
  PREVIEW_RANGES,
  previewRange,
  previewStep,
  rangeSeconds,
  useBacktestPreview,
  type DayCount,
  type PreviewResult,
  type PreviewSeries,
  type PreviewRangeKey,
} from "./preview";

/** The most anomalies listed; the count says how many more there are. */
const MAX_LISTED = 100;

const FIELDS = ["value", "expected", "lower", "upper", "score"] as const;
const COLORS = {
  value: "#2857c5",
  expected: "#7b8494",
  band: "rgba(40, 87, 197, 0.14)",
  score: "#9b59b6",
};

export function BacktestPreview({ spec, invalid }: { spec: DetectorSpec; invalid: boolean }) {
  const clients = useClients();
  const clock = (useStore() as unknown as AppStore).extra.clock;
  const [range, setRange] = useState<PreviewRangeKey>(DEFAULT_PREVIEW_RANGE);
  const preview = useBacktestPreview({ clients, clock, spec, range, enabled: !invalid });
  const headingId = useId();

  const step = previewStep(spec.stepSeconds);
  const span = rangeSeconds(range);
  // The range is cut to the point limit at this step: say so before it runs. The answer may
  // have been cut further, shared by its series: the answer to these settings says so.
  const shown = preview.result;
  const cut =
    shown !== undefined && shown.rangeKey === range && shown.range.step === step && shown.range.series > 1
      ? shown.range
      : previewRange(0, span, step);
  const rangeLabel = PREVIEW_RANGES.find((r) => r.value === range)?.label.toLowerCase() ?? range;

  let state: "idle" | "running" | "failed" | "done" = "idle";
  let status: ReactNode;
  if (!preview.ready) {
    status = invalid
      ? "Correct the fields in error to preview."
      : "Choose a data source and enter a query to see what this detector would have found.";
  } else if (preview.running) {
    state = "running";
    status = "Running…";
  } else if (preview.error) {
    state = "failed";
    status = "The preview failed.";
  } else if (preview.result) {
    state = "done";
    status = <Summary result={preview.result} rangeLabel={rangeLabel} />;
  }
  const result = preview.ready && !preview.error ? preview.result : undefined;

  return (
    <section className="preview" aria-labelledby={headingId} aria-busy={state === "running"} data-testid="backtest-preview">
      <div className="preview-header">
        <h3 id={headingId}>Preview</h3>
        <label className="preview-range">
          Preview range{" "}
          <select value={range} onChange={(event) => setRange(event.target.value as PreviewRangeKey)}>
            {PREVIEW_RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={preview.run} disabled={!preview.ready}>
          Run preview
        </button>
      </div>
      <p className="field-hint">
        What these settings would have found in the {rangeLabel} of the query, scored from scratch; nothing is saved.
      </p>
      {cut.clamped && (
        <p className="field-hint preview-clamped" data-testid="preview-clamped">
          At a {step} s step, the {rangeLabel} are more than the {formatNumber(MAX_PREVIEW_POINTS, 6)} points a preview
          scores
          {cut.series > 1 ? ` in all, over ${cut.series} series` : ""}: it covers the last{" "}
          {formatSpan(cut.end - cut.start)}.
        </p>
      )}
      {/* Polite, not an alert: the form's own alert stays the one that says why a save failed. */}
      <div role="status" className="preview-status" data-state={state} data-testid="preview-status">
        {status}
        {state === "failed" && preview.error && <PreviewError error={preview.error} />}
      </div>
      {result && <PreviewBody result={result} stale={state === "running"} />}
    </section>
  );
}

function PreviewError({ error }: { error: ActionError }) {
  const fields = Object.entries(error.fields);
  return (
    <div className="form-errors" data-testid="preview-error">
      {fields.length > 0 ? (
        <>
          <p>These settings cannot be scored:</p>
          <ul>
            {fields.map(([path, description]) => (
              <li key={path}>
                <code>{path}</code>: {description}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p>{error.message}</p>
      )}
    </div>
  );
}

function Summary({ result, rangeLabel }: { result: PreviewResult; rangeLabel: string }) {
  const critical = result.anomalies.filter((a) => a.severity === Severity.CRITICAL).length;
  const count = result.anomalies.length;
  return (
    <>
      <strong data-testid="preview-anomaly-count">{count}</strong> {count === 1 ? "anomaly" : "anomalies"} in the{" "}
      {rangeLabel} ({critical} critical, {count - critical} warning), over {result.series.length} series.
    </>
  );
}

function PreviewBody({ result, stale }: { result: PreviewResult; stale: boolean }) {
  const charted = result.series.slice(0, MAX_PREVIEW_CHARTS);
  const more = result.series.length - charted.length;
  return (
    <div className={stale ? "preview-body preview-stale" : "preview-body"}>
      {result.warnings.length > 0 && (
        <ul className="preview-warnings">
          {result.warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      )}
      {result.series.length === 0 && <p className="muted">The query returned no series in this range.</p>}
      {charted.map((series) => (
        <SeriesChart
          key={series.key}
          series={series}
          anomalies={result.anomalies}
          timeRange={[result.range.start, result.range.end]}
        />
      ))}
      {more > 0 && (
        <p className="muted" data-testid="preview-more-series">
          {more} more series not charted.
        </p>
      )}
      <PerDay days={result.perDay} />
      <AnomalyList anomalies={result.anomalies} />
    </div>
  );
}

function SeriesChart({
  series,
  anomalies,
  timeRange,
}: {
  series: PreviewSeries;
  anomalies: AnomalyView[];
  timeRange: [number, number];
}) {
  const buffer = useMemo(() => {
    const made = new ChartBuffer(FIELDS, { capacity: Math.max(1, series.scores.length), step: series.step });
    made.putStepped(series.start, series.step, {
      value: series.values,
      expected: series.expected,
      lower: series.lower,
      upper: series.upper,
      score: series.scores,
    });
    return made;
  }, [series]);
  const markers = useMemo(() => anomalyMarkers(series, anomalies), [series, anomalies]);
  return (
    <TimeChart
      buffer={buffer}
      title={series.key}
      height={180}
      lines={[
        { field: "value", label: "Value", color: COLORS.value, width: 1.5 },
        { field: "expected", label: "Expected", color: COLORS.expected, dash: [6, 4] },
        { field: "score", label: "Score", color: COLORS.score, scale: "score", width: 1 },
      ]}
      band={{ lower: "lower", upper: "upper", color: COLORS.band, label: "Expected band" }}
      markers={markers}
      timeRange={timeRange}
    />
  );
}

function PerDay({ days }: { days: DayCount[] }) {
  const most = Math.max(1, ...days.map((day) => day.total));
  return (
    <table className="table preview-days" aria-label="Anomalies per day">
      <thead>
        <tr>
          <th scope="col">Day (UTC)</th>
          <th scope="col">Warning</th>
          <th scope="col">Critical</th>
          <th scope="col">Total</th>
          <th scope="col" aria-hidden="true"></th>
        </tr>
      </thead>
      <tbody>
        {days.map((day) => (
          <tr key={day.day}>
            <th scope="row">{day.day}</th>
            <td className="cell-number">{day.warning}</td>
            <td className="cell-number">{day.critical}</td>
            <td className="cell-number">{day.total}</td>
            <td className="preview-bar-cell" aria-hidden="true">
              <span className="preview-bar preview-bar-critical" style={{ width: `${(100 * day.critical) / most}%` }} />
              <span className="preview-bar preview-bar-warning" style={{ width: `${(100 * day.warning) / most}%` }} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AnomalyList({ anomalies }: { anomalies: AnomalyView[] }) {
  if (anomalies.length === 0) return <p className="muted">No anomalies would have been raised.</p>;
  const listed = anomalies.slice(0, MAX_LISTED);
  return (
    <>
      <table className="table preview-anomalies" aria-label="Anomalies the detector would have raised">
        <thead>
          <tr>
            <th scope="col">Start</th>
            <th scope="col">End</th>
            <th scope="col">Severity</th>
            <th scope="col">Peak score</th>
            <th scope="col">Series</th>
          </tr>
        </thead>
        <tbody>
          {listed.map((anomaly, i) => (
            <tr key={i}>
              <td>{formatDateTime(anomaly.startTime)}</td>
              <td>{formatDateTime(anomaly.endTime)}</td>
              <td>
                <span className={`badge ${severityClass(anomaly.severity)}`}>{SEVERITY_TEXT[anomaly.severity]}</span>
              </td>
              <td className="cell-number">{formatNumber(anomaly.peakScore)}</td>
              <td>
                <code>{formatLabels(anomaly.seriesLabels)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {anomalies.length > listed.length && (
        <p className="muted">
          The first {listed.length} of {anomalies.length} are listed.
        </p>
      )}
    </>
  );
}
