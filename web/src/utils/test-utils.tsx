// Rendering with the store, the clients and a router, after the Redux Toolkit templates; a
// clock the tests move by hand; and helpers to let the stream's promises run.
import type { AiopsClients } from "@aiops/client";
import { render, type RenderOptions } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactElement, ReactNode } from "react";
import { Provider } from "react-redux";
import { MemoryRouter } from "react-router";
import { ClientsProvider } from "../app/clients";
import type { Clock, TimerHandle } from "../app/clock";
import type { StreamSettings } from "../app/extra";
import { makeStore, type AppStore, type RootState } from "../app/store";
import { streamStarted } from "../features/connection/connectionSlice";
import { FakeAiops } from "./fakeServer";

/** A clock that moves only when told; `random` is fixed (1 by default: the longest delay). */
export class FakeClock implements Clock {
  time = Date.UTC(2026, 0, 1, 12);
  randomValue = 1;
  private timers = new Map<number, { at: number; callback: () => void; ms: number }>();
  private nextId = 1;

  now = () => this.time;
  random = () => this.randomValue;

  setTimeout = (callback: () => void, ms: number): TimerHandle => {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, callback, ms });
    return id;
  };

  clearTimeout = (handle: TimerHandle) => {
    this.timers.delete(handle as number);
  };

  /** The delays of the timers set and not yet fired, in the order they were set. */
  pendingDelays(): number[] {
    return [...this.timers.values()].map((timer) => timer.ms);
  }

  /** Moves time on by `ms`, firing each timer due on the way (and what their callbacks start). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, timer]) => timer.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      const [id, timer] = due;
      this.timers.delete(id);
      this.time = Math.max(this.time, timer.at);
      timer.callback();
      await settle();
    }
    this.time = end;
    await settle();
  }
}

/** Lets pending promises and the router transport's streams run. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
}

export interface TestStoreOptions {
  preloadedState?: Partial<RootState>;
  server?: FakeAiops;
  clients?: AiopsClients;
  clock?: FakeClock;
  settings?: Partial<StreamSettings>;
}

/** A store over a fake server (a new one unless given) and a fake clock. */
export function makeTestStore(options: TestStoreOptions = {}) {
  const clock = options.clock ?? new FakeClock();
  const server = options.server ?? new FakeAiops(clock.now);
  const clients = options.clients ?? server.clients();
  const store = makeStore(options.preloadedState, { clients, clock, settings: options.settings });
  return { store, server, clock, clients };
}

/** A test store whose stream manager has started, gone live and loaded the lists. */
export async function startedStore(options: TestStoreOptions = {}) {
  const made = makeTestStore(options);
  made.store.dispatch(streamStarted());
  await settle();
  return made;
}

interface ExtendedRenderOptions extends Omit<RenderOptions, "queries">, TestStoreOptions {
  store?: AppStore;
  /** The router's location: `/anomalies?severity=critical`. */
  route?: string;
}

/** Renders `ui` inside the store, the clients' context and a memory router. */
export function renderWithProviders(ui: ReactElement, options: ExtendedRenderOptions = {}) {
  const { preloadedState, server, clock, settings, route = "/", ...renderOptions } = options;
  const made = options.store
    ? { store: options.store, server, clock, clients: options.clients ?? options.store.extra.clients }
    : makeTestStore({ preloadedState, server, clock, settings, clients: options.clients });
  const Wrapper = ({ children }: { children: ReactNode }) => (
    <Provider store={made.store}>
      <ClientsProvider clients={made.clients}>
        <MemoryRouter initialEntries={[route]}>{children}</MemoryRouter>
      </ClientsProvider>
    </Provider>
  );
  return {
    ...made,
    user: userEvent.setup(),
    ...render(ui, { wrapper: Wrapper, ...renderOptions }),
  };
}
