// Raises a notification for each anomaly the stream brings that the tab has not seen: not
// in the loaded list and not notified before.
import type { AppStartListening } from "../../app/store";
import { formatLabels } from "../anomalies/model";
import { anomalyReceived } from "../connection/eventActions";
import { anomalyNotified } from "./notificationsSlice";

export function addNotificationListeners(startListening: AppStartListening): void {
  startListening({
    actionCreator: anomalyReceived,
    effect: (action, api) => {
      const before = api.getOriginalState();
      const { anomaly } = action.payload;
      if (before.anomalies.entities[anomaly.name] !== undefined) return;
      api.dispatch(
        anomalyNotified({
          name: anomaly.name,
          detector: anomaly.detector,
          severity: anomaly.severity,
          labels: formatLabels(anomaly.seriesLabels),
          at: api.extra.clock.now(),
        }),
      );
    },
  });
}
