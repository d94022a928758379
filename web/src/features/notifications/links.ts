// Where a notification leads, and how a severity is styled.
import { Severity } from "@aiops/client";

export function anomalyLink(name: string): string {
  return `/anomalies?anomaly=${encodeURIComponent(name)}`;
}

export function severityClass(severity: Severity): string {
  return severity === Severity.CRITICAL ? "severity-critical" : "severity-warning";
}
