// A toast per new anomaly, a few at a time, and one summary toast for the rest of a burst.
import { memo, useEffect } from "react";
import { Link } from "react-router";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { SEVERITY_TEXT } from "../anomalies/model";
import {
  centreToggled,
  notificationRead,
  overflowDismissed,
  selectNotification,
  selectOverflow,
  selectToastNames,
  toastDismissed,
} from "./notificationsSlice";
import { anomalyLink, severityClass } from "./links";

/** How long a toast stays, unless pointed at or focused. */
export const TOAST_MS = 10_000;

export function Toasts() {
  const names = useAppSelector(selectToastNames);
  const overflow = useAppSelector(selectOverflow);
  const dispatch = useAppDispatch();
  return (
    // The region is always there, so that screen readers announce what is added to it.
    <section className="toasts" aria-label="New anomalies" aria-live="polite">
      {names.map((name) => (
        <Toast key={name} name={name} />
      ))}
      {overflow > 0 && (
        <div role="status" className="toast toast-summary">
          <p>
            <strong>
              {overflow} more new {overflow === 1 ? "anomaly" : "anomalies"}
            </strong>
          </p>
          <div className="toast-actions">
            <button type="button" className="button-small" onClick={() => dispatch(centreToggled(true))}>
              Show notifications
            </button>
            <button type="button" className="button-small" onClick={() => dispatch(overflowDismissed())}>
              Dismiss
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

const Toast = memo(function Toast({ name }: { name: string }) {
  const dispatch = useAppDispatch();
  const notification = useAppSelector((state) => selectNotification(state, name));
  useEffect(() => {
    const timer = setTimeout(() => dispatch(toastDismissed(name)), TOAST_MS);
    return () => clearTimeout(timer);
  }, [dispatch, name]);
  if (notification === undefined) return null;
  const severity = SEVERITY_TEXT[notification.severity];
  return (
    <div role="status" className={`toast ${severityClass(notification.severity)}`}>
      <p>
        <strong className="toast-severity">{severity} anomaly</strong> on {notification.detector}
      </p>
      <p className="toast-labels">{notification.labels}</p>
      <div className="toast-actions">
        <Link to={anomalyLink(name)} onClick={() => dispatch(notificationRead(name))}>
          View anomaly
        </Link>
        <button
          type="button"
          className="button-small"
          aria-label={`Dismiss ${severity.toLowerCase()} anomaly on ${notification.detector}`}
          onClick={() => dispatch(toastDismissed(name))}
        >
          Dismiss
        </button>
      </div>
    </div>
  );
});
