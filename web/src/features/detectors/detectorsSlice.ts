// Detectors, keyed by name: loaded once (every page), then kept current by DETECTOR_CHANGE
// events (created, changed, deleted, by anyone) and DETECTOR_STATUS events (state and etag);
// create, edit, start, stop and delete show at once and roll back on error.
import { Code, ConnectError, Detector_State } from "@aiops/client";
import { createEntityAdapter, createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { createAppAsyncThunk } from "../../app/hooks";
import type { RootState } from "../../app/store";
import { toActionError, type ActionError } from "../../utils/errors";
import { optimisticUpdates, pendingLabel, type OptimisticEntityState } from "../../utils/optimistic";
import { listAll } from "../../utils/paging";
import { detectorChanged, detectorStatusReceived } from "../connection/eventActions";
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
const optimistic = optimisticUpdates(adapter, { version: (detector) => detector.etag });

export interface DetectorsState extends OptimisticEntityState<DetectorView> {
  /** What the last failed operation on each detector said, until dismissed or retried. */
  errors: Record<string, ActionError>;
  /** The detectors an event said were deleted (until one of that name comes back). */
  deleted: Record<string, true>;
}

const initialState: DetectorsState = adapter.getInitialState({ pending: {}, errors: {}, deleted: {} });

/** A name for a detector being created without an id, until the server names it. */
export const provisionalName = (requestId: string) => `detectors/~new-${requestId}`;
const isProvisional = (name: string) => name.startsWith(provisionalName(""));

/** Whether a provisional detector is what the server made of it: the settings people typed. */
const sameDetector = (provisional: DetectorView, made: DetectorView) =>
  provisional.displayName === made.displayName &&
  provisional.description === made.description &&
  provisional.dataSource === made.dataSource &&
  provisional.query === made.query;

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

/**
 * An answer meets the stream when no event since the call began carried it (`optimistic`
 * keeps the stream's detector when one did): the state an event brought wins, and its etag,
 * the latest the stream knows (the answer's own event, if it has one, brings it again).
 */
const keepEventState = (answer: DetectorView, base: DetectorView | null, eventSince: boolean) =>
  eventSince && base !== null
    ? { ...answer, state: base.state, stateReason: base.stateReason, etag: base.etag }
    : answer;

const sameAlgorithm = (a: DetectorSpec["algorithm"], b: DetectorSpec["algorithm"]) => {
  if (a === null || b === null) return a === b;
  const keys = Object.keys(a.params);
  return (
    a.kind === b.kind &&
    keys.length === Object.keys(b.params).length &&
    keys.every((key) => a.params[key] === b.params[key])
  );
};

/** Whether two detectors have the same settings (what an edit sets), whatever their state. */
export const sameSettings = (a: DetectorSpec, b: DetectorSpec) =>
  a.displayName === b.displayName &&
  a.description === b.description &&
  a.dataSource === b.dataSource &&
  a.query === b.query &&
  a.stepSeconds === b.stepSeconds &&
  sameAlgorithm(a.algorithm, b.algorithm) &&
  a.direction === b.direction &&
  a.minDeviation === b.minDeviation &&
  a.warning === b.warning &&
  a.critical === b.critical;

/**
 * The etag an edit sends from a form opened on `opened`, the detector being `current` now. A
 * state change (a DETECTOR_STATUS event) changes the etag too, and overwrites nothing of an
 * edit: while only the state moved, the current etag. Once the settings changed under the form
 * (a DETECTOR_CHANGE event), the one it read, so that the server refuses the edit
 * (ETAG_MISMATCH) rather than overwrite what someone else saved.
 */
export const editEtag = (opened: DetectorView, current: DetectorView | undefined) =>
  current !== undefined && sameSettings(opened, current) ? current.etag : opened.etag;

/** A failure shows at its detector; one deleted meanwhile has nowhere to show it. */
const keepError = (state: DetectorsState, name: string, error: ActionError | undefined) => {
  if (error && state.entities[name] !== undefined) state.errors[name] = error;
};

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
        for (const detector of action.payload) delete state.deleted[detector.name];
      })
      .addCase(fetchDetector.fulfilled, (state, action) => {
        if (action.payload === null) optimistic.confirm(state, action.meta.arg, null);
        // Read before the deletion an event has brought since: the stream is newer.
        else if (!state.deleted[action.payload.name]) optimistic.confirm(state, action.payload.name, action.payload);
      })
      .addCase(detectorStatusReceived, (state, { payload }) => {
        const base = state.pending[payload.detector]?.base ?? state.entities[payload.detector];
        if (base === undefined || base === null) return; // the stream manager fetches it
        optimistic.confirm(
          state,
          payload.detector,
          { ...base, state: payload.state, stateReason: payload.stateReason, etag: payload.etag || base.etag },
          true,
        );
      })
      .addCase(detectorChanged, (state, { payload: { detector, deleted } }) => {
        const name = detector.name;
        if (deleted) {
          optimistic.confirm(state, name, null, true);
          state.deleted[name] = true;
          delete state.errors[name];
          return;
        }
        delete state.deleted[name];
        if (state.entities[name] === undefined && state.pending[name] === undefined) {
          optimistic.claimProvisional(state, isProvisional, (provisional) => sameDetector(provisional, detector));
        }
        optimistic.confirm(state, name, detector, true);
      })
      // Create: a row at once (under its name, or a provisional one when the server picks it).
      .addCase(createDetector.pending, (state, { meta }) => {
        const name = meta.arg.id ? `detectors/${meta.arg.id}` : provisionalName(meta.requestId);
        optimistic.begin(state, name, meta.requestId, "creating", {
          kind: "create",
          entity: provisionalDetector(name, meta.arg.spec),
        });
        delete state.deleted[name];
      })
      .addCase(createDetector.fulfilled, (state, { meta, payload }) => {
        const name = meta.arg.id ? `detectors/${meta.arg.id}` : provisionalName(meta.requestId);
        if (name === payload.name) {
          optimistic.settle(state, name, meta.requestId, payload, keepEventState);
          return;
        }
        optimistic.settle(state, name, meta.requestId, null);
        // Its DETECTOR_CHANGE event may have come first: that one is as new or newer.
        const known = state.entities[payload.name] !== undefined || state.pending[payload.name] !== undefined;
        if (!known && !state.deleted[payload.name]) {
          optimistic.confirm(state, payload.name, payload);
        }
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
        keepError(state, meta.arg.name, payload);
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
          keepError(state, meta.arg, payload);
        });
    }
    builder.addCase(deleteDetector.rejected, (state, { meta, payload }) => {
      optimistic.settle(state, meta.arg, meta.requestId);
      keepError(state, meta.arg, payload);
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
/** Whether the detector is gone: an event said it was deleted, or our delete is in flight. */
export const selectDetectorDeleted = (state: RootState, name: string) =>
  Boolean(state.detectors.deleted[name]) || pendingLabel(state.detectors, name) === "deleting";
