// Data sources, keyed by name, with their health: loaded once (every page), then kept current
// by DATA_SOURCE_CHANGE events (created, changed, deleted, by anyone), health by
// DATA_SOURCE_HEALTH events (and by a Check); create, edit and delete show at once and roll
// back on error.
import { Code, ConnectError } from "@aiops/client";
import { createEntityAdapter, createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { createAppAsyncThunk } from "../../app/hooks";
import type { RootState } from "../../app/store";
import { toActionError, type ActionError } from "../../utils/errors";
import { optimisticUpdates, pendingLabel, type OptimisticEntityState } from "../../utils/optimistic";
import { listAll } from "../../utils/paging";
import { durationSeconds } from "../../utils/proto";
import { dataSourceChanged, dataSourceHealthReceived } from "../connection/eventActions";
import {
  dataSourceUpdatePaths,
  provisionalDataSource,
  toDataSourceMessage,
  toDataSourceView,
  type DataSourceHealth,
  type DataSourceSpec,
  type DataSourceView,
} from "./model";

const adapter = createEntityAdapter<DataSourceView, string>({
  selectId: (source) => source.name,
  sortComparer: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
});
const optimistic = optimisticUpdates(adapter, { version: (source) => source.etag });

export interface DataSourcesState extends OptimisticEntityState<DataSourceView> {
  health: Record<string, DataSourceHealth>;
  /** Names with a Check in flight. */
  checking: Record<string, boolean>;
  errors: Record<string, ActionError>;
  /** The data sources an event said were deleted (until one of that name comes back). */
  deleted: Record<string, true>;
}

const initialState: DataSourcesState = adapter.getInitialState({
  pending: {},
  health: {},
  checking: {},
  errors: {},
  deleted: {},
});

export const provisionalName = (requestId: string) => `dataSources/~new-${requestId}`;
const isProvisional = (name: string) => name.startsWith(provisionalName(""));

/** Whether a provisional data source is what the server made of it: what people typed. */
const sameDataSource = (provisional: DataSourceView, made: DataSourceView) =>
  provisional.displayName === made.displayName &&
  provisional.kind === made.kind &&
  provisional.urls.length === made.urls.length &&
  provisional.urls.every((url, i) => url === made.urls[i]);

/** Whether two data sources have the same settings (what an edit sets). */
const sameSettings = (a: DataSourceView, b: DataSourceView) =>
  a.displayName === b.displayName &&
  a.kind === b.kind &&
  a.urls.length === b.urls.length &&
  a.urls.every((url, i) => url === b.urls[i]) &&
  a.hasAuthorization === b.hasAuthorization &&
  a.timeoutSeconds === b.timeoutSeconds;

/**
 * The etag an edit sends from a form opened on `opened`, the data source being `current` now:
 * the one the form read once someone else's save (a DATA_SOURCE_CHANGE event) changed its
 * settings, so that the server refuses the edit (ETAG_MISMATCH) rather than overwrite theirs.
 */
export const editEtag = (opened: DataSourceView, current: DataSourceView | undefined) =>
  current !== undefined && sameSettings(opened, current) ? current.etag : opened.etag;

/** Forgets what was known of a data source that is gone. */
const forget = (state: DataSourcesState, name: string) => {
  delete state.health[name];
  delete state.checking[name];
  delete state.errors[name];
};

export const loadDataSources = createAppAsyncThunk(
  "dataSources/load",
  async (_: void, { extra, signal }) => {
    const { items } = await listAll(async (pageToken) => {
      const answer = await extra.clients.dataSources.listDataSources(
        { pageSize: extra.settings.pageSize, pageToken },
        { signal },
      );
      return { items: answer.dataSources.map(toDataSourceView), nextPageToken: answer.nextPageToken };
    });
    return items;
  },
);

export const fetchDataSource = createAppAsyncThunk(
  "dataSources/fetch",
  async (name: string, { extra, rejectWithValue }) => {
    try {
      return toDataSourceView(await extra.clients.dataSources.getDataSource({ name }));
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.NotFound) return null;
      return rejectWithValue(toActionError(err));
    }
  },
);

export const createDataSource = createAppAsyncThunk(
  "dataSources/create",
  async ({ id, spec }: { id: string; spec: DataSourceSpec }, { extra, rejectWithValue }) => {
    try {
      const answer = await extra.clients.dataSources.createDataSource({
        dataSource: toDataSourceMessage(spec),
        dataSourceId: id,
      });
      return toDataSourceView(answer);
    } catch (err) {
      return rejectWithValue(toActionError(err));
    }
  },
);

export const updateDataSource = createAppAsyncThunk(
  "dataSources/update",
  async (
    { name, spec, etag = "" }: { name: string; spec: DataSourceSpec; etag?: string },
    { extra, rejectWithValue },
  ) => {
    try {
      const answer = await extra.clients.dataSources.updateDataSource({
        dataSource: toDataSourceMessage(spec, name, etag),
        updateMask: { paths: dataSourceUpdatePaths(spec) },
      });
      return toDataSourceView(answer);
    } catch (err) {
      return rejectWithValue(toActionError(err));
    }
  },
);

export const deleteDataSource = createAppAsyncThunk(
  "dataSources/delete",
  async (name: string, { extra, rejectWithValue }) => {
    try {
      await extra.clients.dataSources.deleteDataSource({ name });
      return name;
    } catch (err) {
      return rejectWithValue(toActionError(err));
    }
  },
);

/** Asks the data source now: its health, latency and version. */
export const checkDataSource = createAppAsyncThunk(
  "dataSources/check",
  async (name: string, { extra, rejectWithValue }) => {
    try {
      const answer = await extra.clients.dataSources.checkDataSource({ name });
      const latency = durationSeconds(answer.latency);
      const health: DataSourceHealth = {
        reachable: answer.reachable,
        url: answer.url,
        error: answer.error,
        time: extra.clock.now(),
        latencyMs: latency === null ? undefined : latency * 1000,
        version: answer.version,
      };
      return health;
    } catch (err) {
      return rejectWithValue(toActionError(err));
    }
  },
);

const nameOf = (arg: { id: string }, requestId: string) =>
  arg.id ? `dataSources/${arg.id}` : provisionalName(requestId);

export const dataSourcesSlice = createSlice({
  name: "dataSources",
  initialState,
  reducers: {
    errorDismissed(state, action: PayloadAction<string>) {
      delete state.errors[action.payload];
    },
  },
  extraReducers: (builder) => {
    builder
      .addCase(loadDataSources.fulfilled, (state, { payload }) => {
        optimistic.confirmAll(state, payload);
        for (const source of payload) delete state.deleted[source.name];
      })
      .addCase(fetchDataSource.fulfilled, (state, { meta, payload }) => {
        // Read before the deletion an event has brought since: the stream is newer.
        if (payload !== null && state.deleted[payload.name]) return;
        optimistic.confirm(state, payload?.name ?? meta.arg, payload);
      })
      .addCase(dataSourceChanged, (state, { payload: { dataSource, deleted } }) => {
        const name = dataSource.name;
        if (deleted) {
          optimistic.confirm(state, name, null, true);
          state.deleted[name] = true;
          forget(state, name);
          return;
        }
        delete state.deleted[name];
        if (state.entities[name] === undefined && state.pending[name] === undefined) {
          optimistic.claimProvisional(state, isProvisional, (provisional) => sameDataSource(provisional, dataSource));
        }
        optimistic.confirm(state, name, dataSource, true);
      })
      .addCase(dataSourceHealthReceived, (state, { payload }) => {
        if (state.deleted[payload.dataSource]) return; // a probe that raced the deletion
        const before = state.health[payload.dataSource];
        state.health[payload.dataSource] = {
          reachable: payload.reachable,
          url: payload.url,
          error: payload.error,
          time: payload.time,
          // A Check's latency and version stand while the same URL answers.
          ...(before && payload.reachable && before.url === payload.url
            ? { latencyMs: before.latencyMs, version: before.version }
            : {}),
        };
      })
      .addCase(checkDataSource.pending, (state, { meta }) => {
        state.checking[meta.arg] = true;
        delete state.errors[meta.arg];
      })
      .addCase(checkDataSource.fulfilled, (state, { meta, payload }) => {
        delete state.checking[meta.arg];
        state.health[meta.arg] = payload;
      })
      .addCase(checkDataSource.rejected, (state, { meta, payload }) => {
        delete state.checking[meta.arg];
        if (payload) state.errors[meta.arg] = payload;
      })
      .addCase(createDataSource.pending, (state, { meta }) => {
        const name = nameOf(meta.arg, meta.requestId);
        optimistic.begin(state, name, meta.requestId, "creating", {
          kind: "create",
          entity: provisionalDataSource(name, meta.arg.spec),
        });
        delete state.deleted[name];
      })
      .addCase(createDataSource.fulfilled, (state, { meta, payload }) => {
        const name = nameOf(meta.arg, meta.requestId);
        if (name === payload.name) {
          optimistic.settle(state, name, meta.requestId, payload);
          return;
        }
        optimistic.settle(state, name, meta.requestId, null);
        // Its DATA_SOURCE_CHANGE event may have come first: that one is as new or newer.
        const known = state.entities[payload.name] !== undefined || state.pending[payload.name] !== undefined;
        if (!known && !state.deleted[payload.name]) optimistic.confirm(state, payload.name, payload);
      })
      .addCase(createDataSource.rejected, (state, { meta }) => {
        optimistic.settle(state, nameOf(meta.arg, meta.requestId), meta.requestId);
      })
      .addCase(updateDataSource.pending, (state, { meta }) => {
        const { spec } = meta.arg;
        const changes: Partial<DataSourceView> = {
          displayName: spec.displayName,
          urls: spec.urls,
          timeoutSeconds: spec.timeoutSeconds,
          ...(spec.authorization === null ? {} : { hasAuthorization: spec.authorization !== "" }),
        };
        optimistic.begin(state, meta.arg.name, meta.requestId, "saving", { kind: "update", changes });
      })
      .addCase(updateDataSource.fulfilled, (state, { meta, payload }) => {
        optimistic.settle(state, meta.arg.name, meta.requestId, payload);
      })
      .addCase(updateDataSource.rejected, (state, { meta }) => {
        optimistic.settle(state, meta.arg.name, meta.requestId);
      })
      .addCase(deleteDataSource.pending, (state, { meta }) => {
        optimistic.begin(state, meta.arg, meta.requestId, "deleting", { kind: "remove" });
        delete state.errors[meta.arg];
      })
      .addCase(deleteDataSource.fulfilled, (state, { meta }) => {
        optimistic.settle(state, meta.arg, meta.requestId, null);
        delete state.health[meta.arg];
      })
      .addCase(deleteDataSource.rejected, (state, { meta, payload }) => {
        optimistic.settle(state, meta.arg, meta.requestId);
        // One deleted meanwhile has nowhere to show it.
        if (payload && state.entities[meta.arg] !== undefined) state.errors[meta.arg] = payload;
      });
  },
});

export const { errorDismissed: dataSourceErrorDismissed } = dataSourcesSlice.actions;

const selectors = adapter.getSelectors((state: RootState) => state.dataSources);
export const selectAllDataSources = selectors.selectAll;
export const selectDataSourceByName = selectors.selectById;
export const selectDataSourceCount = selectors.selectTotal;
export const selectDataSourcePending = (state: RootState, name: string) => pendingLabel(state.dataSources, name);
export const selectDataSourceHealth = (state: RootState, name: string): DataSourceHealth | undefined =>
  state.dataSources.health[name];
export const selectDataSourceChecking = (state: RootState, name: string) => Boolean(state.dataSources.checking[name]);
export const selectDataSourceError = (state: RootState, name: string): ActionError | undefined =>
  state.dataSources.errors[name];
/** Whether the data source is gone: an event said it was deleted, or our delete is in flight. */
export const selectDataSourceDeleted = (state: RootState, name: string) =>
  Boolean(state.dataSources.deleted[name]) || pendingLabel(state.dataSources, name) === "deleting";
