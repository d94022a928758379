// The data sources, with live health; beside them the form of one.
import { Link, useOutlet } from "react-router";
import { useAppSelector } from "../../app/hooks";
import { LoadingState } from "../connection/LoadingState";
import { DataSourceRow } from "./DataSourceRow";

export function DataSourcesPage() {
  const names = useAppSelector((state) => state.dataSources.ids);
  const loaded = useAppSelector((state) => state.connection.loaded);
  const panel = useOutlet();
  return (
    <div className={panel ? "split" : undefined}>
      <section className="page" aria-labelledby="data-sources-heading">
        <div className="page-header">
          <h1 id="data-sources-heading">Data sources</h1>
          <Link className="button button-primary" to="/data-sources/new">
            New data source
          </Link>
        </div>
        {!loaded ? (
          <LoadingState what="data sources" />
        ) : names.length === 0 ? (
          <div className="empty">
            <p>
              <strong>No data sources yet.</strong> A data source is a Prometheus or Loki server that detectors read
              their queries from.
            </p>
            <p>
              <Link to="/data-sources/new">Add the first data source</Link>.
            </p>
          </div>
        ) : (
          <div className="table-scroll">
            <table className="table" aria-label="Data sources" tabIndex={-1}>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">URLs</th>
                  <th scope="col">Health</th>
                  <th scope="col">Last check</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {names.map((name) => (
                  <DataSourceRow key={name} name={name} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {panel && <aside className="panel">{panel}</aside>}
    </div>
  );
}
