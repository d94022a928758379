// Detectors, keyed by name: loaded once (every page), then kept current by DETECTOR_STATUS
// events; create, edit, start, stop and delete show at once and roll back on error.
import { Code, ConnectError, Detector_State } from "@aiops/client";
import { createEntityAdapter, createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { createAppAsyncThunk } from "../../app/hooks";
import type { RootState } from "../../app/store";
import { toActionError, type ActionError } from "../../utils/errors";
import { optimisticUpdates, pendingLabel, type OptimisticEntityState } from "../../utils/optimistic";
import { listAll } from "../../utils/paging";
import { detectorStatusReceived } from "../connection/eventActions";
import {
  DETECTOR_UPDATE_PATHS,
  provisionalDetector,
  toDetectorMessage,
  toDetectorView,
  type DetectorSpec,
  type DetectorView,
} from "./model";

const adapter = createEntityAdapter<DetectorView, string>({
  selectId: (detector) => detector.name,
  sortComparer: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
});
const optimistic = optimisticUpdates(adapter);

export interface DetectorsState extends OptimisticEntityState<DetectorView> {
  /** What the last failed operation on each detector said, until dismissed or retried. */
  errors: Record<string, ActionError>;
}

const initialState: DetectorsState = adapter.getInitialState({ pending: {}, errors: {} });

/** A name for a detector being created without an id, until the server names it. */
export const provisionalName = (requestId: string) => `detectors/~new-${requestId}`;

const reject = (err: unknown) => toActionError(err);

export const loadDetectors = createAppAsyncThunk("detectors/load", async (_: void, { extra, signal }) => {
  const { items } = await listAll(async (pageToken) => {
    const answer = await extra.clients.detectors.listDetectors(
      { pageSize: extra.settings.pageSize, pageToken },
      { signal },
    );
    return { items: answer.detectors.map(toDetectorView), nextPageToken: answer.nextPageToken };
  });
  return items;
});

/** The detector as stored now; null when it no longer exists. */
export const fetchDetector = createAppAsyncThunk(
  "detectors/fetch",
  async (name: string, { extra, rejectWithValue }) => {
    try {
      return toDetectorView(await extra.clients.detectors.getDetector({ name }));
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.NotFound) return null;
      return rejectWithValue(reject(err));
    }
  },
);

export const createDetector = createAppAsyncThunk(
  "detectors/create",
  async ({ id, spec }: { id: string; spec: DetectorSpec }, { extra, rejectWithValue }) => {
    const { detector, violations } = toDetectorMessage(spec);
    if (Object.keys(violations).length > 0) {
      return rejectWithValue({ message: "Some fields are invalid", code: "InvalidArgument", fields: violations });
    }
    try {
      return toDetectorView(await extra.clients.detectors.createDetector({ detector, detectorId: id }));
    } catch (err) {
      return rejectWithValue(reject(err));
    }
  },
);

export const updateDetector = createAppAsyncThunk(
  "detectors/update",
  async (
    { name, spec, etag = "" }: { name: string; spec: DetectorSpec; etag?: string },
    { extra, rejectWithValue },
  ) => {
    const { detector, violations } = toDetectorMessage(spec, name, etag);
    if (Object.keys(violations).length > 0) {
      return rejectWithValue({ message: "Some fields are invalid", code: "InvalidArgument", fields: violations });
    }
    try {
      const answer = await extra.clients.detectors.updateDetector({
        detector,
        updateMask: { paths: [...DETECTOR_UPDATE_PATHS] },
      });
      return toDetectorView(answer);
    } catch (err) {
      return rejectWithValue(reject(err));
    }
  },
);

export const startDetector = createAppAsyncThunk(
  "detectors/start",
  async (name: string, { extra, rejectWithValue }) => {
    try {
      return toDetectorView(await extra.clients.detectors.startDetector({ name }));
    } catch (err) {
      return rejectWithValue(reject(err));
    }
  },
);

export const stopDetector = createAppAsyncThunk(
  "detectors/stop",
  async (name: string, { extra, rejectWithValue }) => {
    try {
      return toDetectorView(await extra.clients.detectors.stopDetector({ name }));
    } catch (err) {
      return rejectWithValue(reject(err));
    }
  },
);

export const deleteDetector = createAppAsyncThunk(
  "detectors/delete",
  async (name: string, { extra, rejectWithValue }) => {
    try {
      await extra.clients.detectors.deleteDetector({ name });
      return name;
    } catch (err) {
      return rejectWithValue(reject(err));
    }
  },
);

/** An answer meets the stream: a state an event brought after the call began wins. */
const keepEventState = (answer: DetectorView, base: DetectorView | null, eventSince: boolean) =>
  eventSince && base !== null ? { ...answer, state: base.state, stateReason: base.stateReason } : answer;

const STARTABLE = new Set([Detector_State.STOPPED, Detector_State.FAILED, Detector_State.UNSPECIFIED]);

export const detectorsSlice = createSlice({
  name: "detectors",
  initialState,
  reducers: {
    errorDismissed(state, action: PayloadAction<string>) {
      delete state.errors[action.payload];
    },
  },
  extraReducers: (builder) => {
    builder
      .addCase(loadDetectors.fulfilled, (state, action) => {
        optimistic.confirmAll(state, action.payload);
      })
      .addCase(fetchDetector.fulfilled, (state, action) => {
        if (action.payload === null) optimistic.confirm(state, action.meta.arg, null);
        else optimistic.confirm(state, action.payload.name, action.payload);
      })
      .addCase(detectorStatusReceived, (state, { payload }) => {
        const base = state.pending[payload.detector]?.base ?? state.entities[payload.detector];
        if (base === undefined || base === null) return; // the stream manager fetches it
        optimistic.confirm(
          state,
          payload.detector,
          { ...base, state: payload.state, stateReason: payload.stateReason },
          true,
        );
      })
      // Create: a row at once (under its name, or a provisional one when the server picks it).
      .addCase(createDetector.pending, (state, { meta }) => {
        const name = meta.arg.id ? `detectors/${meta.arg.id}` : provisionalName(meta.requestId);
        optimistic.begin(state, name, meta.requestId, "creating", {
          kind: "create",
          entity: provisionalDetector(name, meta.arg.spec),
        });
      })
      .addCase(createDetector.fulfilled, (state, { meta, payload }) => {
        const name = meta.arg.id ? `detectors/${meta.arg.id}` : provisionalName(meta.requestId);
        if (name !== payload.name) optimistic.settle(state, name, meta.requestId, null);
        else optimistic.settle(state, name, meta.requestId, payload);
        optimistic.confirm(state, payload.name, payload);
      })
      .addCase(createDetector.rejected, (state, { meta }) => {
        const name = meta.arg.id ? `detectors/${meta.arg.id}` : provisionalName(meta.requestId);
        optimistic.settle(state, name, meta.requestId);
      })
      // Edit: the new settings at once, the answer's when it comes.
      .addCase(updateDetector.pending, (state, { meta }) => {
        optimistic.begin(state, meta.arg.name, meta.requestId, "saving", {
          kind: "update",
          changes: { ...meta.arg.spec },
        });
        delete state.errors[meta.arg.name];
      })
      .addCase(updateDetector.fulfilled, (state, { meta, payload }) => {
        optimistic.settle(state, meta.arg.name, meta.requestId, payload, keepEventState);
      })
      .addCase(updateDetector.rejected, (state, { meta, payload }) => {
        optimistic.settle(state, meta.arg.name, meta.requestId);
        if (payload) state.errors[meta.arg.name] = payload;
      })
      .addCase(startDetector.pending, (state, { meta }) => {
        const current = state.entities[meta.arg];
        const changes = current && STARTABLE.has(current.state) ? { state: Detector_State.BACKFILLING, stateReason: "" } : {};
        optimistic.begin(state, meta.arg, meta.requestId, "starting", { kind: "update", changes });
        delete state.errors[meta.arg];
      })
      .addCase(stopDetector.pending, (state, { meta }) => {
        optimistic.begin(state, meta.arg, meta.requestId, "stopping", {
          kind: "update",
          changes: { state: Detector_State.STOPPED, stateReason: "" },
        });
        delete state.errors[meta.arg];
      })
      .addCase(deleteDetector.pending, (state, { meta }) => {
        optimistic.begin(state, meta.arg, meta.requestId, "deleting", { kind: "remove" });
        delete state.errors[meta.arg];
      })
      .addCase(deleteDetector.fulfilled, (state, { meta }) => {
        optimistic.settle(state, meta.arg, meta.requestId, null);
      });
    for (const thunk of [startDetector, stopDetector]) {
      builder
        .addCase(thunk.fulfilled, (state, { meta, payload }) => {
          optimistic.settle(state, meta.arg, meta.requestId, payload, keepEventState);
        })
        .addCase(thunk.rejected, (state, { meta, payload }) => {
          optimistic.settle(state, meta.arg, meta.requestId);
          if (payload) state.errors[meta.arg] = payload;
        });
    }
    builder.addCase(deleteDetector.rejected, (state, { meta, payload }) => {
      optimistic.settle(state, meta.arg, meta.requestId);
      if (payload) state.errors[meta.arg] = payload;
    });
  },
});

export const { errorDismissed: detectorErrorDismissed } = detectorsSlice.actions;

const selectors = adapter.getSelectors((state: RootState) => state.detectors);
export const selectAllDetectors = selectors.selectAll;
export const selectDetectorNames = selectors.selectIds;
export const selectDetectorByName = selectors.selectById;
export const selectDetectorCount = selectors.selectTotal;
export const selectDetectorPending = (state: RootState, name: string) => pendingLabel(state.detectors, name);
export const selectDetectorError = (state: RootState, name: string): ActionError | undefined =>
  state.detectors.errors[name];
