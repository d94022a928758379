// Always on screen: where the event stream is, and when the last event came.
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { formatTime } from "../../utils/format";
import { retryNow, selectConnection, type ConnectionStatus } from "./connectionSlice";

const TEXT: Record<ConnectionStatus, string> = {
  connecting: "Connecting",
  live: "Live",
  reconnecting: "Reconnecting",
  offline: "Offline",
};

export function ConnectionBadge() {
  const dispatch = useAppDispatch();
  const connection = useAppSelector(selectConnection);
  const { status } = connection;
  const detail =
    status === "live"
      ? connection.lastEventTime === null
        ? "no event yet"
        : `last event ${formatTime(connection.lastEventTime)}`
      : connection.retryAt !== null
        ? `next try ${formatTime(connection.retryAt)}`
        : connection.lastEventTime !== null
          ? `last event ${formatTime(connection.lastEventTime)}`
          : "";
  const title = [
    connection.lastError && status !== "live" ? `Why: ${connection.lastError}` : "",
    connection.lastMessageAt !== null ? `Last heartbeat ${formatTime(connection.lastMessageAt)}` : "",
    connection.lastSequence > 0 ? `Last sequence ${connection.lastSequence}` : "",
  ]
    .filter(Boolean)
    .join("\n");
  return (
    <div className="connection" data-state={status}>
      <div role="status" aria-label="Connection" className={`connection-badge connection-${status}`} title={title}>
        <span className="connection-dot" aria-hidden="true" />
        <span className="connection-state">{TEXT[status]}</span>
        {detail && <span className="connection-detail"> · {detail}</span>}
      </div>
      {(status === "reconnecting" || status === "offline") && (
        <button type="button" className="button-small" onClick={() => dispatch(retryNow())}>
          Retry now
        </button>
      )}
    </div>
  );
}
