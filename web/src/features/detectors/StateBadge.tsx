// A detector's state as a badge: colour and text, with its reason and what it is doing.
import { Detector_State, Detector_StateSchema } from "@aiops/client";
import { capitalize, humanize } from "../../utils/format";
import type { PendingLabel } from "../../utils/optimistic";

const PENDING_TEXT: Record<PendingLabel, string> = {
  creating: "Creating…",
  saving: "Saving…",
  starting: "Starting…",
  stopping: "Stopping…",
  deleting: "Deleting…",
  updating: "Saving…",
};

export function stateText(state: Detector_State): string {
  const value = Detector_StateSchema.values.find((v) => v.number === state);
  return value ? capitalize(humanize(value.localName)) : "Unknown";
}

/** What a state means for people, when the name alone does not say it. */
export function stateExplanation(state: Detector_State, reason: string): string {
  switch (state) {
    case Detector_State.BACKFILLING:
      return reason || "learning its history before it scores live points";
    case Detector_State.DEGRADED:
      return reason || "its data source fails; it retries on its own";
    case Detector_State.FAILED:
      return reason || "stopped by an error it cannot recover from";
    default:
      return reason;
  }
}

export function StateBadge({
  state,
  reason,
  pending,
}: {
  state: Detector_State;
  reason: string;
  pending?: PendingLabel;
}) {
  const explanation = stateExplanation(state, reason);
  return (
    <span className="state">
      <span className={`badge state-${stateText(state).toLowerCase()}`}>{stateText(state)}</span>
      {explanation && <span className="state-reason">: {explanation}</span>}
      {pending && <span className="pending"> {PENDING_TEXT[pending]}</span>}
    </span>
  );
}
