// The API clients: one grpc-web transport and one client per service, built once per tab and
// handed to components through context (and to thunks and listeners as the store's extra).
import { createAiopsClients, type AiopsClients } from "@aiops/client";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { createContext, useContext, type ReactNode } from "react";

/**
 * Where the API is: `VITE_AIOPS_URL` when the UI was built or served by Vite with it (a dev
 * server beside a separately run Envoy), else the page's own origin, where `aiops serve`
 * puts Envoy's grpc-web next to the built UI.
 */
export function serverUrl(): string {
  const configured = import.meta.env.VITE_AIOPS_URL;
  return configured ? configured.replace(/\/+$/, "") : window.location.origin;
}

export function createBrowserClients(baseUrl: string = serverUrl()): AiopsClients {
  return createAiopsClients(createGrpcWebTransport({ baseUrl }));
}

const ClientsContext = createContext<AiopsClients | null>(null);

export function ClientsProvider({ clients, children }: { clients: AiopsClients; children: ReactNode }) {
  return <ClientsContext value={clients}>{children}</ClientsContext>;
}

export function useClients(): AiopsClients {
  const clients = useContext(ClientsContext);
  if (clients === null) {
    throw new Error("useClients outside a ClientsProvider");
  }
  return clients;
}
