// What a failed call leaves in the store: the server's own message, its code and reason, and
// the request fields it named (google.rpc.BadRequest), all serialisable.
import { Code, ConnectError, errorReason, fieldViolations } from "@aiops/client";

export interface ActionError {
  /** The server's message as it sent it, or what went wrong on the way. */
  message: string;
  /** The gRPC code's name, such as `InvalidArgument`. */
  code: string;
  /** The aiops ErrorReason without its prefix, such as `ETAG_MISMATCH`. */
  reason?: string;
  /** Field path (such as `detector.query`) to what is wrong with it. */
  fields: Record<string, string>;
}

export function toActionError(err: unknown): ActionError {
  if (err instanceof ConnectError || (err instanceof Error && err.name === "ConnectError")) {
    const error = ConnectError.from(err);
    return {
      message: error.rawMessage || Code[error.code],
      code: Code[error.code],
      reason: errorReason(error),
      fields: fieldViolations(error),
    };
  }
  // Thunks' unwrap() throws a SerializedError: a plain object with the message.
  const message =
    typeof err === "object" && err !== null && "message" in err && typeof err.message === "string"
      ? err.message
      : String(err);
  return { message, code: Code[Code.Unknown], fields: {} };
}

/** A one-line description of `err` for people. */
export function describeError(err: unknown): string {
  const error = toActionError(err);
  return error.code === "Unknown" ? error.message : `${error.message} (${error.code})`;
}
