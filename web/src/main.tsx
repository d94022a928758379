// The tab: one set of API clients, one store, one event stream, the app.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "react-redux";
import { HashRouter } from "react-router";
import { App } from "./App";
import { ClientsProvider, createBrowserClients } from "./app/clients";
import { makeStore } from "./app/store";
import { streamStarted } from "./features/connection/connectionSlice";
import "./index.css";

const clients = createBrowserClients();
const store = makeStore(undefined, { clients });
store.dispatch(streamStarted());

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <Provider store={store}>
      <ClientsProvider clients={clients}>
        {/* Hash routes: any static server (Envoy's, Vite's) serves every page from index.html. */}
        <HashRouter>
          <App />
        </HashRouter>
      </ClientsProvider>
    </Provider>
  </StrictMode>,
);
