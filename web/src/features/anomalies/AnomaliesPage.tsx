// Every detector's anomalies, live, newest first: filters by detector, severity, state and
// time; acknowledge or mark a false positive; virtualised, so 10,000 rows scroll smoothly.
import { Detector_State } from "@aiops/client";
import { createSelector } from "@reduxjs/toolkit";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState, type ChangeEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { useAppSelector } from "../../app/hooks";
import type { RootState } from "../../app/store";
import { toLocalInput } from "../../utils/format";
import { resourceId } from "../../utils/proto";
import { LoadingState } from "../connection/LoadingState";
import { selectAllDetectors } from "../detectors/detectorsSlice";
import { AnomalyCells } from "./AnomalyRow";
import { filterFromParams, selectFilteredAnomalyNames, selectKnownDetectors } from "./filters";

/** Row height in root font sizes; rows are one line, so the virtualiser need not measure them. */
const ROW_EMS = 2.75;

/** The row height in px: the font grows with the screen (a wall screen's rows are taller). */
function useRowHeight(): number {
  const measure = () => {
    const size = parseFloat(getComputedStyle(document.documentElement).fontSize);
    return Math.round((Number.isFinite(size) && size > 0 ? size : 16) * ROW_EMS);
  };
  const [height, setHeight] = useState(measure);
  useEffect(() => {
    const onResize = () => setHeight(measure());
    window.addEventListener("resize", onResize);
    return () => window.removeEventListener("resize", onResize);
  }, []);
  return height;
}

const selectWarmingUp = createSelector([selectAllDetectors], (detectors) => ({
  running: detectors.filter((d) => d.state === Detector_State.RUNNING || d.state === Detector_State.DEGRADED).length,
  backfilling: detectors.filter((d) => d.state === Detector_State.BACKFILLING).map((d) => d.name),
}));

export function AnomaliesPage() {
  const [params, setParams] = useSearchParams();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    // Relative ranges ("last hour") move with the clock.
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);
  const filter = useMemo(() => filterFromParams(params, now), [params, now]);
  const names = useAppSelector((state: RootState) => selectFilteredAnomalyNames(state, filter));
  const total = useAppSelector((state) => state.anomalies.ids.length);
  const complete = useAppSelector((state) => state.anomalies.complete);
  const loaded = useAppSelector((state) => state.connection.loaded);
  const detectors = useAppSelector(selectKnownDetectors);
  const focus = params.get("anomaly") ?? "";

  const setParam = (key: string) => (event: ChangeEvent<HTMLInputElement | HTMLSelectElement>) => {
    const next = new URLSearchParams(params);
    if (event.target.value) next.set(key, event.target.value);
    else next.delete(key);
    if (key === "range" && event.target.value === "custom" && !next.get("from")) {
      next.set("from", toLocalInput(now - 86_400_000));
    }
    setParams(next, { replace: true });
  };
  const range = params.get("range") ?? "";
  const filtered = Boolean(
    filter.detector || filter.severity !== null || filter.state !== null || filter.from !== null || filter.to !== null,
  );

  return (
    <section className="page page-fill" aria-labelledby="anomalies-heading">
      <div className="page-header">
        <h1 id="anomalies-heading">Anomalies</h1>
        {loaded && (
          <span className="muted">
            {filtered ? `${names.length} of ${total}` : total} {total === 1 ? "anomaly" : "anomalies"}
            {!complete && " (the newest; the server keeps more)"}
          </span>
        )}
      </div>
      <div className="toolbar filters" role="group" aria-label="Filters">
        <label>
          Detector
          <select value={filter.detector} onChange={setParam("detector")}>
            <option value="">All detectors</option>
            {detectors.map((name) => (
              <option key={name} value={name}>
                {resourceId(name)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Severity
          <select value={params.get("severity") ?? ""} onChange={setParam("severity")}>
            <option value="">Any severity</option>
            <option value="warning">Warning</option>
            <option value="critical">Critical</option>
          </select>
        </label>
        <label>
          State
          <select value={params.get("state") ?? ""} onChange={setParam("state")}>
            <option value="">Any state</option>
            <option value="open">Open</option>
            <option value="acknowledged">Acknowledged</option>
            <option value="false-positive">False positive</option>
          </select>
        </label>
        <label>
          Time range
          <select value={range} onChange={setParam("range")}>
            <option value="">All time</option>
            <option value="1h">Last hour</option>
            <option value="24h">Last 24 hours</option>
            <option value="7d">Last 7 days</option>
            <option value="custom">Between…</option>
          </select>
        </label>
        {range === "custom" && (
          <>
            <label>
              From
              <input type="datetime-local" value={params.get("from") ?? ""} onChange={setParam("from")} />
            </label>
            <label>
              To
              <input type="datetime-local" value={params.get("to") ?? ""} onChange={setParam("to")} />
            </label>
          </>
        )}
        {filtered && (
          <button type="button" className="button-small" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            Clear filters
          </button>
        )}
      </div>
      {!loaded ? (
        <LoadingState what="anomalies" />
      ) : total === 0 ? (
        <NoAnomalies />
      ) : names.length === 0 ? (
        <p className="empty">No anomaly matches these filters.</p>
      ) : (
        <AnomalyTable names={names} focus={focus} />
      )}
    </section>
  );
}

function NoAnomalies() {
  const { running, backfilling } = useAppSelector(selectWarmingUp);
  return (
    <div className="empty" role="status">
      <p>
        <strong>No anomalies yet.</strong> They appear here, live, as running detectors raise them.
      </p>
      {backfilling.length > 0 && (
        <p>
          {backfilling.map((name) => resourceId(name)).join(", ")} {backfilling.length === 1 ? "is" : "are"}{" "}
          backfilling: learning {backfilling.length === 1 ? "its" : "their"} history before scoring live points.
        </p>
      )}
      {running === 0 && backfilling.length === 0 && (
        <p>
          No detector is running. <Link to="/detectors">Start one on the Detectors page</Link>.
        </p>
      )}
    </div>
  );
}

function AnomalyTable({ names, focus }: { names: string[]; focus: string }) {
  const scroller = useRef<HTMLDivElement>(null);
  const rowHeight = useRowHeight();
  // eslint-disable-next-line react-hooks/incompatible-library -- rows re-render through the virtualiser's own state
  const virtualizer = useVirtualizer({
    count: names.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    getItemKey: (index) => names[index],
    // The sticky header sits above the first row inside the scroller.
    scrollMargin: 0,
    paddingStart: rowHeight,
    overscan: 12,
    initialRect: { width: 1200, height: 800 },
    // React 19 batches the scroll's re-render itself; flushSync from a layout effect warns.
    useFlushSync: false,
  });
  useEffect(() => virtualizer.measure(), [rowHeight, virtualizer]);
  const scrolledTo = useRef("");
  useEffect(() => {
    if (!focus || scrolledTo.current === focus) return;
    const index = names.indexOf(focus);
    if (index >= 0) {
      scrolledTo.current = focus;
      virtualizer.scrollToIndex(index, { align: "center" });
    }
  }, [focus, names, virtualizer]);

  return (
    <div
      ref={scroller}
      role="table"
      aria-label="Anomalies"
      aria-rowcount={names.length + 1}
      className="vtable"
      tabIndex={0}
    >
      {/* The header scrolls with the rows' columns (sticky), so they line up at any width. */}
      <div role="rowgroup" className="vhead">
        <div role="row" aria-rowindex={1} className="vrow vrow-header" style={{ height: rowHeight }}>
          <div role="columnheader">Severity</div>
          <div role="columnheader">Detector</div>
          <div role="columnheader">Series</div>
          <div role="columnheader">Started</div>
          <div role="columnheader">Ended</div>
          <div role="columnheader">Peak score</div>
          <div role="columnheader">State</div>
          <div role="columnheader">
            <span className="visually-hidden">Actions</span>
          </div>
        </div>
      </div>
      <div role="rowgroup" style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
        {virtualizer.getVirtualItems().map((item) => {
          const name = names[item.index];
          return (
            <div
              key={item.key}
              role="row"
              aria-rowindex={item.index + 2}
              aria-label={name}
              aria-current={name === focus ? "true" : undefined}
              className={name === focus ? "vrow vrow-focus" : "vrow"}
              style={{ transform: `translateY(${item.start}px)`, height: rowHeight }}
            >
              <AnomalyCells name={name} />
            </div>
          );
        })}
      </div>
    </div>
  );
}
