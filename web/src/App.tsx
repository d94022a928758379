// The frame every page shares (navigation, connection badge, notification centre, toasts)
// and the routes. The detectors' list and a detector's page come with the bundle; the other
// pages (anomalies, data sources, dashboard, the detector form with its preview) are chunks of
// their own, loaded when first opened: a tab opened on a detector evaluates less before its
// first calls.
import { lazy, Suspense, useState, type ComponentType } from "react";
import { NavLink, Navigate, Route, Routes } from "react-router";
import { ConnectionBadge } from "./features/connection/ConnectionBadge";
import { DetectorDetail } from "./features/detectors/DetectorDetail";
import { DetectorsPage } from "./features/detectors/DetectorsPage";
import { NotificationCentre } from "./features/notifications/NotificationCentre";
import { Toasts } from "./features/notifications/Toasts";

export function App() {
  return (
    <div className="app">
      <a
        className="skip-link"
        href="#main"
        onClick={(event) => {
          // The hash belongs to the router: move focus instead of navigating.
          event.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </a>
      <header className="app-header">
        <span className="brand">aiops</span>
        <nav aria-label="Main">
          <NavLink to="/detectors">Detectors</NavLink>
          <NavLink to="/anomalies">Anomalies</NavLink>
          <NavLink to="/data-sources">Data sources</NavLink>
          <NavLink to="/dashboard">Dashboard</NavLink>
        </nav>
        <div className="header-end">
          <ConnectionBadge />
          <NotificationCentre />
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <AppRoutes />
      </main>
      <Toasts />
    </div>
  );
}

/**
 * A page of its own chunk: loaded when first routed to (a line meanwhile, from the cache in a few
 * ms), then rendered at once.
 */
function lazyPage<M>(load: () => Promise<M>, pick: (module: M) => ComponentType) {
  let loaded: ComponentType | null = null;
  const preload = () =>
    load().then((module) => {
      loaded = pick(module);
      return loaded;
    });
  const Lazy = lazy(() => preload().then((component) => ({ default: component })));
  function Page() {
    // What it was mounted with, for good: switching from the lazy one would mount the page anew.
    const [Loaded] = useState(() => loaded);
    return Loaded !== null ? (
      <Loaded />
    ) : (
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <Lazy />
      </Suspense>
    );
  }
  return { Page, preload };
}

const pages = {
  anomalies: lazyPage(() => import("./features/anomalies/AnomaliesPage"), (m) => m.AnomaliesPage),
  dashboard: lazyPage(() => import("./features/dashboard/DashboardPage"), (m) => m.DashboardPage),
  dataSourceDetail: lazyPage(() => import("./features/dataSources/DataSourceDetail"), (m) => m.DataSourceDetail),
  dataSourceForm: lazyPage(() => import("./features/dataSources/DataSourceForm"), (m) => m.DataSourceForm),
  dataSources: lazyPage(() => import("./features/dataSources/DataSourcesPage"), (m) => m.DataSourcesPage),
  detectorForm: lazyPage(() => import("./features/detectors/DetectorForm"), (m) => m.DetectorForm),
};
const AnomaliesPage = pages.anomalies.Page;
const DashboardPage = pages.dashboard.Page;
const DataSourceDetail = pages.dataSourceDetail.Page;
const DataSourceForm = pages.dataSourceForm.Page;
const DataSourcesPage = pages.dataSources.Page;
const DetectorForm = pages.detectorForm.Page;

/** Loads every page's chunk (tests: so that each page renders as soon as it is routed to). */
export async function loadPages(): Promise<void> {
  await Promise.all(Object.values(pages).map((page) => page.preload()));
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/" element={<Navigate to="/detectors" replace />} />
      <Route path="/detectors" element={<DetectorsPage />}>
        <Route path="new" element={<DetectorForm />} />
        <Route path=":id" element={<DetectorDetail />} />
        <Route path=":id/edit" element={<DetectorForm />} />
      </Route>
      <Route path="/anomalies" element={<AnomaliesPage />} />
      <Route path="/data-sources" element={<DataSourcesPage />}>
        <Route path="new" element={<DataSourceForm />} />
        <Route path=":id/edit" element={<DataSourceForm />} />
      </Route>
      {/* A data source's page of its own: its health history and query explorer need the width. */}
      <Route path="/data-sources/:id" element={<DataSourceDetail />} />
      <Route path="/dashboard" element={<DashboardPage />} />
      <Route
        path="*"
        element={
          <section className="page">
            <h1>Not found</h1>
            <p>
              Nothing lives here. Go to the <NavLink to="/detectors">detectors</NavLink>.
            </p>
          </section>
        }
      />
    </Routes>
  );
}
