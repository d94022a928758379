// What a page says before its list is in: never a blank page.
import { useAppSelector } from "../../app/hooks";
import { selectConnection } from "./connectionSlice";

export function LoadingState({ what }: { what: string }) {
  const { status, loading, loadError, lastError } = useAppSelector(selectConnection);
  let text: string;
  if (loadError) text = `Could not load the ${what}: ${loadError}. Trying again with the next heartbeat.`;
  else if (loading) text = `Loading the ${what}…`;
  else if (status === "connecting") text = `Connecting to the server to load the ${what}…`;
  else if (status === "reconnecting" || status === "offline")
    text = `The server does not answer${lastError ? ` (${lastError})` : ""}; the ${what} load when it does.`;
  else text = `Loading the ${what}…`;
  return (
    <p role="status" className="empty">
      {text}
    </p>
  );
}
