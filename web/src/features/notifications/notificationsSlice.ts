// The notification centre: one notification per new anomaly (by name: an anomaly that grows
// or escalates updates its notification), a few of them shown as toasts at a time, the rest
// counted in a summary toast so that a burst does not bury the screen, and an unread count.
import { Severity } from "@aiops/client";
import { createSelector, createSlice, type PayloadAction } from "@reduxjs/toolkit";
import type { RootState } from "../../app/store";

/** Toasts on screen at once; more new anomalies meanwhile go to the summary toast. */
export const MAX_TOASTS = 3;
/** Notifications kept in the centre. */
export const MAX_NOTIFICATIONS = 200;

export interface Notification {
  /** The anomaly's name. */
  name: string;
  detector: string;
  severity: Severity;
  labels: string;
  /** When it arrived (client clock). */
  at: number;
  read: boolean;
}

export interface NotificationsState {
  /** Newest first. */
  items: Notification[];
  /** Anomaly names shown as toasts now, oldest first. */
  toasts: string[];
  /** New anomalies that came while the toasts were full, since the summary was dismissed. */
  overflow: number;
  /** Whether the centre's panel is open. */
  open: boolean;
}

const initialState: NotificationsState = { items: [], toasts: [], overflow: 0, open: false };

export const notificationsSlice = createSlice({
  name: "notifications",
  initialState,
  reducers: {
    anomalyNotified(state, action: PayloadAction<Omit<Notification, "read">>) {
      const existing = state.items.find((item) => item.name === action.payload.name);
      if (existing !== undefined) {
        // De-duplicated: the same anomaly again, perhaps graver now.
        if (action.payload.severity > existing.severity) existing.severity = action.payload.severity;
        return;
      }
      state.items.unshift({ ...action.payload, read: false });
      if (state.items.length > MAX_NOTIFICATIONS) {
        const dropped = state.items.splice(MAX_NOTIFICATIONS);
        const gone = new Set(dropped.map((item) => item.name));
        state.toasts = state.toasts.filter((name) => !gone.has(name));
      }
      if (state.toasts.length < MAX_TOASTS) state.toasts.push(action.payload.name);
      else state.overflow += 1;
    },
    toastDismissed(state, action: PayloadAction<string>) {
      state.toasts = state.toasts.filter((name) => name !== action.payload);
    },
    overflowDismissed(state) {
      state.overflow = 0;
    },
    notificationRead(state, action: PayloadAction<string>) {
      const item = state.items.find((i) => i.name === action.payload);
      if (item) item.read = true;
      state.toasts = state.toasts.filter((name) => name !== action.payload);
    },
    allRead(state) {
      for (const item of state.items) item.read = true;
      state.toasts = [];
      state.overflow = 0;
    },
    centreToggled(state, action: PayloadAction<boolean | undefined>) {
      state.open = action.payload ?? !state.open;
    },
  },
  selectors: {
    selectNotifications: (state) => state.items,
    selectToastNames: (state) => state.toasts,
    selectOverflow: (state) => state.overflow,
    selectCentreOpen: (state) => state.open,
  },
});

export const { anomalyNotified, toastDismissed, overflowDismissed, notificationRead, allRead, centreToggled } =
  notificationsSlice.actions;
export const { selectNotifications, selectToastNames, selectOverflow, selectCentreOpen } =
  notificationsSlice.selectors;

export const selectUnreadCount = createSelector(
  [(state: RootState) => state.notifications.items],
  (items) => items.reduce((count, item) => count + (item.read ? 0 : 1), 0),
);

export const selectNotification = (state: RootState, name: string): Notification | undefined =>
  state.notifications.items.find((item) => item.name === name);
