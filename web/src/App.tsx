// The frame every page shares (navigation, connection badge, notification centre, toasts)
// and the routes.
import { NavLink, Navigate, Route, Routes } from "react-router";
import { AnomaliesPage } from "./features/anomalies/AnomaliesPage";
import { ConnectionBadge } from "./features/connection/ConnectionBadge";
import { DashboardPage } from "./features/dashboard/DashboardPage";
import { DataSourceDetail } from "./features/dataSources/DataSourceDetail";
import { DataSourceForm } from "./features/dataSources/DataSourceForm";
import { DataSourcesPage } from "./features/dataSources/DataSourcesPage";
import { DetectorDetail } from "./features/detectors/DetectorDetail";
import { DetectorForm } from "./features/detectors/DetectorForm";
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
