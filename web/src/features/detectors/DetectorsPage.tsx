// The detectors: a live list with a filter box, and beside it the detail or form of one.
import { createSelector } from "@reduxjs/toolkit";
import { useMemo } from "react";
import { Link, useMatch, useOutlet, useSearchParams } from "react-router";
import { useAppSelector } from "../../app/hooks";
import type { RootState } from "../../app/store";
import { LoadingState } from "../connection/LoadingState";
import { DetectorRow } from "./DetectorRow";
import { selectAllDetectors } from "./detectorsSlice";
import { stateText } from "./StateBadge";

const selectMatching = createSelector(
  [selectAllDetectors, (_: RootState, filter: string) => filter.trim().toLowerCase()],
  (detectors, filter) =>
    detectors
      .filter(
        (d) =>
          filter === "" ||
          [d.name, d.displayName, d.query, d.dataSource, stateText(d.state), d.stateReason].some((text) =>
            text.toLowerCase().includes(filter),
          ),
      )
      .map((d) => d.name),
  { memoizeOptions: { resultEqualityCheck: (a: string[], b: string[]) => a.length === b.length && a.every((n, i) => n === b[i]) } },
);

export function DetectorsPage() {
  const [params, setParams] = useSearchParams();
  const filter = params.get("q") ?? "";
  const names = useAppSelector((state) => selectMatching(state, filter));
  const total = useAppSelector((state) => state.detectors.ids.length);
  const loaded = useAppSelector((state) => state.connection.loaded);
  const panel = useOutlet();
  const hasPanel = panel !== null;
  // A detector's detail (its charts) takes more of the page than a form.
  const detail = useMatch("/detectors/:id");
  const wide = detail !== null && detail.params.id !== "new";
  const summary = useMemo(
    () =>
      filter
        ? `${names.length} of ${total} ${total === 1 ? "detector matches" : "detectors match"}`
        : `${total} ${total === 1 ? "detector" : "detectors"}`,
    [filter, names.length, total],
  );

  return (
    <div className={hasPanel ? (wide ? "split split-wide" : "split") : undefined}>
      <section className="page" aria-labelledby="detectors-heading">
        <div className="page-header">
          <h1 id="detectors-heading">Detectors</h1>
          <Link className="button button-primary" to="/detectors/new">
            New detector
          </Link>
        </div>
        <div className="toolbar">
          <input
            type="search"
            aria-label="Filter detectors"
            placeholder="Filter by name, query, data source or state"
            value={filter}
            onChange={(event) => {
              const next = new URLSearchParams(params);
              if (event.target.value) next.set("q", event.target.value);
              else next.delete("q");
              setParams(next, { replace: true });
            }}
          />
          {loaded && <span className="muted">{summary}</span>}
        </div>
        {!loaded ? (
          <LoadingState what="detectors" />
        ) : total === 0 ? (
          <div className="empty">
            <p>
              <strong>No detectors yet.</strong> A detector scores a PromQL or LogQL query of a data source, point by
              point, and raises an anomaly when a point is unusual.
            </p>
            <p>
              <Link to="/detectors/new">Create the first detector</Link>.
            </p>
          </div>
        ) : names.length === 0 ? (
          <p className="empty">No detector matches “{filter}”.</p>
        ) : (
          <div className="table-scroll">
            <table className="table" aria-label="Detectors" tabIndex={-1}>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">State</th>
                  <th scope="col">Data source</th>
                  <th scope="col">Query</th>
                  <th scope="col">Algorithm</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {names.map((name) => (
                  <DetectorRow key={name} name={name} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {hasPanel && (
        <aside className="panel">{panel}</aside>
      )}
    </div>
  );
}
