// One data source: its settings, a Check, its health over the last hour (live), and a query
// explorer to try PromQL or LogQL against it.
import { Link, useParams } from "react-router";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { DeletedNotice } from "../../components/DeletedNotice";
import { formatDateTime, formatNumber, formatSeconds, formatTime } from "../../utils/format";
import { LoadingState } from "../connection/LoadingState";
import {
  checkDataSource,
  dataSourceErrorDismissed,
  selectDataSourceByName,
  selectDataSourceChecking,
  selectDataSourceDeleted,
  selectDataSourceError,
  selectDataSourceHealth,
} from "./dataSourcesSlice";
import { HealthBadge } from "./DataSourceRow";
import { HealthHistoryPanel } from "./HealthHistoryPanel";
import { KIND_TEXT } from "./model";
import { QueryExplorer } from "./QueryExplorer";

export function DataSourceDetail() {
  const { id = "" } = useParams();
  const name = `dataSources/${id}`;
  const dispatch = useAppDispatch();
  const source = useAppSelector((state) => selectDataSourceByName(state, name));
  const health = useAppSelector((state) => selectDataSourceHealth(state, name));
  const checking = useAppSelector((state) => selectDataSourceChecking(state, name));
  const error = useAppSelector((state) => selectDataSourceError(state, name));
  const deleted = useAppSelector((state) => selectDataSourceDeleted(state, name));
  const loaded = useAppSelector((state) => state.connection.loaded);

  if (source === undefined) {
    if (deleted) return <DeletedNotice name={name} back="/data-sources" backText="Back to the data sources" />;
    return loaded ? (
      <section className="page">
        <div className="empty">
          <p>There is no data source {name}.</p>
          <Link to="/data-sources">Back to the data sources</Link>
        </div>
      </section>
    ) : (
      <LoadingState what="data source" />
    );
  }
  return (
    <section className="page data-source-detail" aria-labelledby="data-source-heading">
      <div className="page-header">
        <h1 id="data-source-heading">{source.displayName || id}</h1>
        <span className="muted">{name}</span>
        <Link to="/data-sources">All data sources</Link>
      </div>
      <div className="detail-grid">
        <section className="card" aria-labelledby="settings-heading">
          <div className="page-header">
            <h2 id="settings-heading">Settings</h2>
            <Link className="button button-small" to={`/data-sources/${id}/edit`}>
              Edit
            </Link>
          </div>
          <dl className="facts">
            <dt>Name</dt>
            <dd>{name}</dd>
            <dt>Kind</dt>
            <dd>{KIND_TEXT[source.kind]}</dd>
            <dt>URLs</dt>
            <dd>
              {source.urls.map((url) => (
                <div key={url} className="mono">
                  {url}
                </div>
              ))}
            </dd>
            <dt>Authorization</dt>
            <dd>{source.hasAuthorization ? "set (not shown)" : "none"}</dd>
            <dt>Timeout</dt>
            <dd>{source.timeoutSeconds === null ? "default" : formatSeconds(source.timeoutSeconds)}</dd>
            <dt>Created</dt>
            <dd>{formatDateTime(source.createTime)}</dd>
            <dt>Changed</dt>
            <dd>{formatDateTime(source.updateTime)}</dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="check-heading">
          <div className="page-header">
            <h2 id="check-heading">Health</h2>
            <button
              type="button"
              className="button-small"
              disabled={checking}
              aria-label={`Check ${name}`}
              onClick={() => void dispatch(checkDataSource(name))}
            >
              {checking ? "Checking…" : "Check"}
            </button>
          </div>
          <div role="status" aria-label="Check result" className="check-result">
            <HealthBadge health={health} />
            {health && (
              <dl className="facts">
                {health.reachable && health.url && (
                  <>
                    <dt>Answered</dt>
                    <dd className="mono">{health.url}</dd>
                  </>
                )}
                {health.latencyMs !== undefined && (
                  <>
                    <dt>Latency</dt>
                    <dd>{formatNumber(health.latencyMs)} ms</dd>
                  </>
                )}
                {health.version && (
                  <>
                    <dt>Version</dt>
                    <dd>{health.version}</dd>
                  </>
                )}
                <dt>Seen</dt>
                <dd>{formatTime(health.time)}</dd>
              </dl>
            )}
          </div>
          {error && (
            <div role="alert" className="row-error">
              {error.message}{" "}
              <button type="button" className="button-link" onClick={() => dispatch(dataSourceErrorDismissed(name))}>
                Dismiss
              </button>
            </div>
          )}
        </section>
      </div>
      <HealthHistoryPanel key={name} name={name} />
      <QueryExplorer key={`explorer-${name}`} name={name} kind={source.kind} />
    </section>
  );
}
