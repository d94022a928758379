// Anomalies of every detector, keyed by name, newest first: loaded once (every page, up to a
// limit), then kept current by ANOMALY events; acknowledging or marking one a false positive
// shows at once and rolls back on error.
import { AnomalySchema, Anomaly_State } from "@aiops/client";
import { create } from "@bufbuild/protobuf";
import { createEntityAdapter, createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { createAppAsyncThunk } from "../../app/hooks";
import type { RootState } from "../../app/store";
import { toActionError, type ActionError } from "../../utils/errors";
import { optimisticUpdates, pendingLabel, type OptimisticEntityState } from "../../utils/optimistic";
import { listAll } from "../../utils/paging";
import { anomalyReceived, detectorChanged } from "../connection/eventActions";
import { deleteDetector } from "../detectors/detectorsSlice";
import { toAnomalyView, type AnomalyView } from "./model";

const adapter = createEntityAdapter<AnomalyView, string>({
  selectId: (anomaly) => anomaly.name,
  // Newest first, as ListAnomalies answers.
  sortComparer: (a, b) =>
    (b.startTime ?? 0) - (a.startTime ?? 0) || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0),
});
const optimistic = optimisticUpdates(adapter);

export interface AnomaliesState extends OptimisticEntityState<AnomalyView> {
  /** False when the server holds more than the load limit: the list shows the newest. */
  complete: boolean;
  errors: Record<string, ActionError>;
}

const initialState: AnomaliesState = adapter.getInitialState({ pending: {}, complete: true, errors: {} });

export const loadAnomalies = createAppAsyncThunk("anomalies/load", async (_: void, { extra, signal }) => {
  const { items, complete } = await listAll(async (pageToken) => {
    const answer = await extra.clients.detectors.listAnomalies(
      { parent: "detectors/-", pageSize: extra.settings.pageSize, pageToken },
      { signal },
    );
    return { items: answer.anomalies.map(toAnomalyView), nextPageToken: answer.nextPageToken };
  }, extra.settings.anomalyLoadLimit);
  return { items, complete };
});

export const setAnomalyState = createAppAsyncThunk(
  "anomalies/setState",
  async ({ name, state }: { name: string; state: Anomaly_State }, { extra, rejectWithValue }) => {
    try {
      const answer = await extra.clients.detectors.updateAnomaly({
        anomaly: create(AnomalySchema, { name, state }),
        updateMask: { paths: ["state"] },
      });
      return toAnomalyView(answer);
    } catch (err) {
      return rejectWithValue(toActionError(err));
    }
  },
);

const newer = (a: AnomalyView, b: AnomalyView | null) =>
  b === null || (a.updateTime ?? 0) >= (b.updateTime ?? 0) ? a : b;

function removeAnomaliesOf(state: AnomaliesState, detector: string) {
  const prefix = `${detector}/anomalies/`;
  const names = state.ids.filter((name) => name.startsWith(prefix));
  if (names.length > 0) adapter.removeMany(state, names);
}

export const anomaliesSlice = createSlice({
  name: "anomalies",
  initialState,
  reducers: {
    errorDismissed(state, action: PayloadAction<string>) {
      delete state.errors[action.payload];
    },
  },
  extraReducers: (builder) => {
    builder
      .addCase(loadAnomalies.fulfilled, (state, { payload }) => {
        optimistic.confirmAll(state, payload.items);
        state.complete = payload.complete;
      })
      .addCase(anomalyReceived, (state, { payload }) => {
        const name = payload.anomaly.name;
        const base = state.pending[name]?.base ?? state.entities[name] ?? null;
        // Events come in order, but an answer may have brought a later write already.
        if (newer(payload.anomaly, base) !== payload.anomaly) return;
        optimistic.confirm(state, name, payload.anomaly, true);
      })
      .addCase(setAnomalyState.pending, (state, { meta }) => {
        optimistic.begin(state, meta.arg.name, meta.requestId, "updating", {
          kind: "update",
          changes: { state: meta.arg.state },
        });
        delete state.errors[meta.arg.name];
      })
      .addCase(setAnomalyState.fulfilled, (state, { meta, payload }) => {
        optimistic.settle(state, meta.arg.name, meta.requestId, payload, (answer, base) => newer(answer, base));
      })
      .addCase(setAnomalyState.rejected, (state, { meta, payload }) => {
        optimistic.settle(state, meta.arg.name, meta.requestId);
        if (payload) state.errors[meta.arg.name] = payload;
      })
      .addCase(deleteDetector.fulfilled, (state, { payload: detector }) => {
        removeAnomaliesOf(state, detector);
      })
      // Deleted anywhere: its anomalies went with it.
      .addCase(detectorChanged, (state, { payload }) => {
        if (payload.deleted) removeAnomaliesOf(state, payload.detector.name);
      });
  },
});

export const { errorDismissed: anomalyErrorDismissed } = anomaliesSlice.actions;

const selectors = adapter.getSelectors((state: RootState) => state.anomalies);
export const selectAllAnomalies = selectors.selectAll;
export const selectAnomalyByName = selectors.selectById;
export const selectAnomalyCount = selectors.selectTotal;
export const selectAnomalyPending = (state: RootState, name: string) => pendingLabel(state.anomalies, name);
export const selectAnomalyError = (state: RootState, name: string): ActionError | undefined =>
  state.anomalies.errors[name];
