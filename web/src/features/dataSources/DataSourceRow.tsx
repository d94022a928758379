// One data source with its live health and a Check that shows latency and version.
import { memo, useState } from "react";
import { Link } from "react-router";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { RowMenu } from "../../components/RowMenu";
import { useFocusKeptInTable } from "../../components/useFocusKept";
import { formatNumber, formatTime } from "../../utils/format";
import { resourceId } from "../../utils/proto";
import {
  checkDataSource,
  dataSourceErrorDismissed,
  deleteDataSource,
  selectDataSourceByName,
  selectDataSourceChecking,
  selectDataSourceError,
  selectDataSourceHealth,
  selectDataSourcePending,
} from "./dataSourcesSlice";
import { KIND_TEXT, type DataSourceHealth } from "./model";

export function HealthBadge({ health }: { health?: DataSourceHealth }) {
  if (health === undefined) return <span className="badge health-unknown">Unknown</span>;
  return (
    <span className="health">
      <span className={`badge ${health.reachable ? "health-up" : "health-down"}`}>
        {health.reachable ? "Reachable" : "Unreachable"}
      </span>
      {!health.reachable && health.error && <span className="state-reason">: {health.error}</span>}
      {health.time !== null && <span className="muted small"> as of {formatTime(health.time)}</span>}
    </span>
  );
}

export const DataSourceRow = memo(function DataSourceRow({ name }: { name: string }) {
  const dispatch = useAppDispatch();
  const source = useAppSelector((state) => selectDataSourceByName(state, name));
  const health = useAppSelector((state) => selectDataSourceHealth(state, name));
  const checking = useAppSelector((state) => selectDataSourceChecking(state, name));
  const pending = useAppSelector((state) => selectDataSourcePending(state, name));
  const error = useAppSelector((state) => selectDataSourceError(state, name));
  const [confirming, setConfirming] = useState(false);
  const rowRef = useFocusKeptInTable<HTMLTableRowElement>();
  if (source === undefined) return null;
  const provisional = pending === "creating";
  return (
    <tr ref={rowRef} aria-label={name} className={pending ? "row-pending" : undefined}>
      <td>
        {provisional ? (
          source.displayName || resourceId(name)
        ) : (
          <Link to={`/data-sources/${resourceId(name)}`}>{source.displayName || resourceId(name)}</Link>
        )}
        {source.displayName && <div className="muted small">{name}</div>}
        {pending && <span className="pending"> {pending === "creating" ? "Creating…" : pending === "deleting" ? "Deleting…" : "Saving…"}</span>}
      </td>
      <td>{KIND_TEXT[source.kind]}</td>
      <td className="small">
        {source.urls.map((url) => (
          <div key={url}>{url}</div>
        ))}
      </td>
      <td>
        <HealthBadge health={health} />
        {error && (
          <div role="alert" className="row-error">
            {error.message}{" "}
            <button type="button" className="button-link" onClick={() => dispatch(dataSourceErrorDismissed(name))}>
              Dismiss
            </button>
          </div>
        )}
      </td>
      <td className="small">
        {health?.latencyMs !== undefined && <div>{formatNumber(health.latencyMs, 3)} ms</div>}
        {health?.version && <div>version {health.version}</div>}
        {health?.reachable && health.url && <div className="muted">{health.url}</div>}
      </td>
      <td>
        <div className="actions">
        <button
          type="button"
          disabled={provisional || checking}
          aria-label={`Check ${name}`}
          onClick={() => void dispatch(checkDataSource(name))}
        >
          {checking ? "Checking…" : "Check"}
        </button>
        {!provisional && (
          <RowMenu label={`More actions for ${name}`}>
            {(close) =>
              confirming ? (
                <>
                  <p className="small">Delete {name}?</p>
                  <button
                    type="button"
                    className="button-danger"
                    onClick={() => {
                      setConfirming(false);
                      close();
                      void dispatch(deleteDataSource(name));
                    }}
                  >
                    Delete data source
                  </button>
                  <button type="button" onClick={() => setConfirming(false)}>
                    Cancel
                  </button>
                </>
              ) : (
                <>
                  <Link to={`/data-sources/${resourceId(name)}/edit`} onClick={close}>
                    Edit
                  </Link>
                  <button type="button" onClick={() => setConfirming(true)}>
                    Delete…
                  </button>
                </>
              )
            }
          </RowMenu>
        )}
        </div>
      </td>
    </tr>
  );
});
