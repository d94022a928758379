// The store: every feature's slice, thunks and listeners with the API clients as their extra,
// and the stream manager as listener middleware.
import {
  combineSlices,
  configureStore,
  createListenerMiddleware,
  type EnhancedStore,
  type ThunkDispatch,
  type TypedStartListening,
  type UnknownAction,
} from "@reduxjs/toolkit";
import { anomaliesSlice } from "../features/anomalies/anomaliesSlice";
import { connectionSlice } from "../features/connection/connectionSlice";
import { addStreamManager } from "../features/connection/streamManager";
import { addDataSourceListeners } from "../features/dataSources/dataSourcesListener";
import { dataSourcesSlice } from "../features/dataSources/dataSourcesSlice";
import { detectorsSlice } from "../features/detectors/detectorsSlice";
import { addNotificationListeners } from "../features/notifications/notificationsListener";
import { notificationsSlice } from "../features/notifications/notificationsSlice";
import type { AiopsClients } from "@aiops/client";
import { createBrowserClients } from "./clients";
import { systemClock, type Clock } from "./clock";
import { defaultStreamSettings, type AppExtra, type StreamSettings } from "./extra";

const rootReducer = combineSlices(
  connectionSlice,
  detectorsSlice,
  anomaliesSlice,
  dataSourcesSlice,
  notificationsSlice,
);

export type RootState = ReturnType<typeof rootReducer>;
export type AppDispatch = ThunkDispatch<RootState, AppExtra, UnknownAction>;
export type AppStartListening = TypedStartListening<RootState, AppDispatch, AppExtra>;
export type AppStore = Omit<EnhancedStore<RootState>, "dispatch"> & {
  dispatch: AppDispatch;
  extra: AppExtra;
  /** Adds a listener to this store's listener middleware (a feature's, or a test's). */
  startListening: AppStartListening;
};

export interface StoreOptions {
  /** The API clients, built once by the caller; the page origin's grpc-web when left out. */
  clients?: AiopsClients;
  clock?: Clock;
  settings?: Partial<StreamSettings>;
}

/**
 * A store for one tab, its thunks and listeners running on `options`' clients and clock.
 * The stream manager starts on `streamStarted()`.
 */
export function makeStore(preloadedState?: Partial<RootState>, options: StoreOptions = {}): AppStore {
  const extra: AppExtra = {
    clients: options.clients ?? createBrowserClients(),
    clock: options.clock ?? systemClock,
    settings: { ...defaultStreamSettings, ...options.settings },
  };
  const listeners = createListenerMiddleware({ extra });
  const store = configureStore({
    reducer: rootReducer,
    preloadedState,
    middleware: (getDefaultMiddleware) =>
      getDefaultMiddleware({
        thunk: { extraArgument: extra },
        // Development-only checks walk the whole state: slow with 10,000 anomalies, say so later.
        immutableCheck: { warnAfter: 500 },
        serializableCheck: { warnAfter: 500 },
      }).prepend(listeners.middleware),
  });
  const startListening = listeners.startListening.withTypes<RootState, AppDispatch, AppExtra>();
  addStreamManager(startListening);
  addNotificationListeners(startListening);
  addDataSourceListeners(startListening);
  return Object.assign(store, { extra, startListening });
}
