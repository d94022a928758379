// Data sources, keyed by name, with their health: loaded once (every page), health kept
// current by DATA_SOURCE_HEALTH events (and by a Check); create, edit and delete show at once
// and roll back on error.
import { Code, ConnectError } from "@aiops/client";
import { createEntityAdapter, createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { createAppAsyncThunk } from "../../app/hooks";
import type { RootState } from "../../app/store";
import { toActionError, type ActionError } from "../../utils/errors";
import { optimisticUpdates, pendingLabel, type OptimisticEntityState } from "../../utils/optimistic";
import { listAll } from "../../utils/paging";
import { durationSeconds } from "../../utils/proto";
import { dataSourceHealthReceived } from "../connection/eventActions";
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
const optimistic = optimisticUpdates(adapter);

export interface DataSourcesState extends OptimisticEntityState<DataSourceView> {
  health: Record<string, DataSourceHealth>;
  /** Names with a Check in flight. */
  checking: Record<string, boolean>;
  errors: Record<string, ActionError>;
}

const initialState: DataSourcesState = adapter.getInitialState({
  pending: {},
  health: {},
  checking: {},
  errors: {},
});

export const provisionalName = (requestId: string) => `dataSources/~new-${requestId}`;

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
      })
      .addCase(fetchDataSource.fulfilled, (state, { meta, payload }) => {
        optimistic.confirm(state, payload?.name ?? meta.arg, payload);
      })
      .addCase(dataSourceHealthReceived, (state, { payload }) => {
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
      })
      .addCase(createDataSource.fulfilled, (state, { meta, payload }) => {
        const name = nameOf(meta.arg, meta.requestId);
        optimistic.settle(state, name, meta.requestId, name === payload.name ? payload : null);
        optimistic.confirm(state, payload.name, payload);
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
        if (payload) state.errors[meta.arg] = payload;
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
