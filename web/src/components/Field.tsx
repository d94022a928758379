// A labelled form field with the server's complaint about it, if any, tied to it for
// assistive technology.
import { useId, type ReactNode } from "react";

export interface FieldProps {
  label: string;
  /** What is wrong with the value, from a field violation or a local check. */
  error?: string;
  hint?: ReactNode;
  children: (props: {
    id: string;
    "aria-invalid": boolean;
    "aria-describedby": string | undefined;
  }) => ReactNode;
}

export function Field({ label, error, hint, children }: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : "", error ? errorId : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={error ? "field field-invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(error), "aria-describedby": describedBy })}
      {hint && (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** The errors no field of the form shows, and the server's message. */
export function FormErrors({ message, unplaced }: { message?: string; unplaced: Record<string, string> }) {
  const entries = Object.entries(unplaced);
  if (!message && entries.length === 0) return null;
  return (
    <div role="alert" className="form-errors">
      {message && <p>{message}</p>}
      {entries.length > 0 && (
        <ul>
          {entries.map(([path, description]) => (
            <li key={path}>
              <code>{path}</code>: {description}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** "" -> null, else the number (NaN when it is none). */
export function parseOptionalNumber(text: string): number | null {
  return text.trim() === "" ? null : Number(text);
}

export function formatOptionalNumber(value: number | null | undefined): string {
  return value === null || value === undefined ? "" : String(value);
}
