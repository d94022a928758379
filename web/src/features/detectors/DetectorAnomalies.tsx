// A detector's anomalies on its detail page, newest first, with the anomalies page's cells and
// actions (acknowledge, false positive, reopen).
import { createSelector } from "@reduxjs/toolkit";
import { Link } from "react-router";
import { useAppSelector } from "../../app/hooks";
import type { RootState } from "../../app/store";
import { AnomalyCells } from "../anomalies/AnomalyRow";
import { selectAllAnomalies } from "../anomalies/anomaliesSlice";

/** How many anomalies the detail lists; the anomalies page has them all. */
export const DETAIL_ANOMALIES = 20;

const selectAnomalyNamesOf = createSelector(
  [selectAllAnomalies, (_: RootState, detector: string) => detector],
  (anomalies, detector) => anomalies.filter((a) => a.detector === detector).map((a) => a.name),
  {
    memoizeOptions: {
      resultEqualityCheck: (a: string[], b: string[]) => a.length === b.length && a.every((n, i) => n === b[i]),
    },
  },
);

export function DetectorAnomalies({ detector }: { detector: string }) {
  const names = useAppSelector((state) => selectAnomalyNamesOf(state, detector));
  const all = `/anomalies?detector=${encodeURIComponent(detector)}`;
  return (
    <section className="detector-anomalies" aria-labelledby="detector-anomalies-heading">
      <div className="section-header">
        <h3 id="detector-anomalies-heading">Anomalies</h3>
        <Link to={all}>{names.length === 1 ? "1 anomaly" : `${names.length} anomalies`}</Link>
      </div>
      {names.length === 0 ? (
        <p className="muted">No anomalies: they appear here, live, as the detector raises them.</p>
      ) : (
        <div className="table-scroll">
          <div role="table" aria-label={`Anomalies of ${detector}`} className="mini-table">
            <div role="row" className="mini-row mini-row-header">
              <div role="columnheader">Severity</div>
              <div role="columnheader" className="cell-detector">
                Detector
              </div>
              <div role="columnheader">Series</div>
              <div role="columnheader">Started</div>
              <div role="columnheader">Ended</div>
              <div role="columnheader">Peak score</div>
              <div role="columnheader">State</div>
              <div role="columnheader">
                <span className="visually-hidden">Actions</span>
              </div>
            </div>
            {names.slice(0, DETAIL_ANOMALIES).map((name) => (
              <div key={name} role="row" aria-label={name} className="mini-row">
                <AnomalyCells name={name} />
              </div>
            ))}
          </div>
          {names.length > DETAIL_ANOMALIES && (
            <p className="small">
              The newest {DETAIL_ANOMALIES}. <Link to={all}>All of them on the anomalies page</Link>.
            </p>
          )}
        </div>
      )}
    </section>
  );
}
