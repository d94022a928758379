// The notification centre: a button with the unread count, opening the recent notifications.
import { useEffect, useRef } from "react";
import { Link } from "react-router";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { formatTime } from "../../utils/format";
import { SEVERITY_TEXT } from "../anomalies/model";
import { anomalyLink, severityClass } from "./links";
import {
  allRead,
  centreToggled,
  notificationRead,
  selectCentreOpen,
  selectNotifications,
  selectUnreadCount,
} from "./notificationsSlice";

export function NotificationCentre() {
  const dispatch = useAppDispatch();
  const unread = useAppSelector(selectUnreadCount);
  const open = useAppSelector(selectCentreOpen);
  const items = useAppSelector(selectNotifications);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    panel.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        dispatch(centreToggled(false));
        button.current?.focus();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [open, dispatch]);

  return (
    <div className="centre">
      <button
        ref={button}
        type="button"
        className="centre-button"
        aria-expanded={open}
        aria-controls="notification-centre"
        aria-label={`Notifications, ${unread} unread`}
        onClick={() => dispatch(centreToggled())}
      >
        Notifications
        {unread > 0 && (
          <span className="unread-count" aria-hidden="true">
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </button>
      {open && (
        <div
          ref={panel}
          id="notification-centre"
          role="region"
          aria-label="Notification centre"
          className="centre-panel"
          tabIndex={-1}
        >
          <div className="centre-header">
            <h2>Notifications</h2>
            <button type="button" className="button-small" onClick={() => dispatch(allRead())} disabled={unread === 0}>
              Mark all read
            </button>
            <button type="button" className="button-small" onClick={() => dispatch(centreToggled(false))}>
              Close
            </button>
          </div>
          {items.length === 0 ? (
            <p className="empty">No new anomalies since this page opened.</p>
          ) : (
            <ul className="centre-list">
              {items.map((item) => (
                <li key={item.name} className={item.read ? "read" : "unread"}>
                  <span className={`badge ${severityClass(item.severity)}`}>{SEVERITY_TEXT[item.severity]}</span>{" "}
                  <Link
                    to={anomalyLink(item.name)}
                    onClick={() => {
                      dispatch(notificationRead(item.name));
                      dispatch(centreToggled(false));
                    }}
                  >
                    {item.detector} {item.labels}
                  </Link>{" "}
                  <span className="muted">{formatTime(item.at)}</span>
                  {!item.read && <span className="visually-hidden"> (unread)</span>}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
