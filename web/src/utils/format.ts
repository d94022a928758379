// How times, numbers and names read in the UI.

const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

const monthDayTime = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** A moment, as short as it can be said: the time today, the day and time this year. */
export function formatWhen(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return "—";
  const date = new Date(ms);
  const today = new Date(now);
  if (date.toDateString() === today.toDateString()) return time.format(ms);
  if (date.getFullYear() === today.getFullYear()) return monthDayTime.format(ms);
  return dateTime.format(ms);
}

export function formatTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "—" : time.format(ms);
}

export function formatDateTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "—" : dateTime.format(ms);
}

/** `robust_z_score` -> `robust z score`, `STATE_RUNNING` -> `running`: a proto name for people. */
export function humanize(name: string): string {
  return name.replace(/_/g, " ").toLowerCase();
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// One formatter for every number shown: toLocaleString() builds a new one per call, which a
// fast scroll through 10,000 rows pays for (bench/ui.py).
const NUMBER_FORMAT = new Intl.NumberFormat();

export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  return NUMBER_FORMAT.format(Number(value.toPrecision(digits)));
}

/** `2026-01-01T12:00` in local time, as a datetime-local input takes it. */
export function toLocalInput(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// --- units (the system dashboard, data source health) --------------------------------------

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** `1536` -> `1.5 KiB`: binary units, three significant digits. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "—";
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(value)} ${BYTE_UNITS[unit]}`;
}

/** A duration in seconds for people: `350 ms`, `4.2 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const abs = Math.abs(seconds);
  if (abs < 1) return `${formatNumber(seconds * 1000)} ms`;
  if (abs < 60) return `${formatNumber(seconds)} s`;
  const whole = Math.round(seconds);
  const [big, bigUnit, small, smallUnit] =
    abs < 3600
      ? [Math.floor(whole / 60), "min", whole % 60, "s"]
      : abs < 86_400
        ? [Math.floor(whole / 3600), "h", Math.floor((whole % 3600) / 60), "min"]
        : [Math.floor(whole / 86_400), "d", Math.floor((whole % 86_400) / 3600), "h"];
  return small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`;
}

/** `0.025` -> `2.5%`; `—` for NaN (a rate of nothing). */
export function formatPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${formatNumber(fraction * 100)}%` : "—";
}

/** `12.34` -> `12.3/s`. */
export function formatRate(perSecond: number): string {
  return Number.isFinite(perSecond) ? `${formatNumber(perSecond)}/s` : "—";
}
