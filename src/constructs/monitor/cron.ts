/**
 * The cron dialect of Kubernetes CronJobs (`spec.schedule`, parsed by the controller with
 * robfig/cron's standard parser): five fields `minute hour day-of-month month day-of-week`, each
 * `*` or `?`, a value, a range `a-b`, a step `x/n` on either, or a comma-separated list of those;
 * month and day-of-week also take names (`jan`..`dec`, `sun`..`sat`, any case); day-of-week
 * runs 0-6 with 0 = Sunday. The descriptors `@yearly`, `@annually`, `@monthly`, `@weekly`,
 * `@daily`, `@midnight` and `@hourly` stand for their five-field forms. `TZ=`/`CRON_TZ=` prefixes
 * are refused, as the API server refuses them (the CronJob's `timeZone` field does that job).
 *
 * When both day fields are restricted a day matches when EITHER matches (classic cron); when
 * one of them is `*` or `?` only the other counts.
 */

/** A parsed schedule: the sets of values each field matches. */
export interface CronSchedule {
  readonly expression: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  /** Day-of-month was `*` or `?`. */
  readonly anyDayOfMonth: boolean;
  /** Day-of-week was `*` or `?`. */
  readonly anyDayOfWeek: boolean;
}

const DESCRIPTORS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Value of names[0]. */
  readonly nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  { name: 'day-of-week', min: 0, max: 6, names: DAY_NAMES, nameBase: 0 },
];

function value(text: string, f: FieldSpec): number {
  const byName = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (byName >= 0) return byName + (f.nameBase ?? 0);
  if (!/^\d+$/.test(text)) throw new Error(`${f.name} value '${text}' is not a number${f.names ? ' or a name' : ''}`);
  const n = Number(text);
  if (n < f.min || n > f.max) throw new Error(`${f.name} value ${n} is outside ${f.min}-${f.max}`);
  return n;
}

function parseField(text: string, f: FieldSpec): { values: Set<number>; any: boolean } {
  const values = new Set<number>();
  if (text === '') throw new Error(`${f.name} field is empty`);
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined) throw new Error(`${f.name} field '${part}' has more than one '/'`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = f.min;
      hi = f.max;
    } else {
      const bounds = range.split('-');
      if (bounds.length > 2) throw new Error(`${f.name} range '${range}' has more than one '-'`);
      lo = value(bounds[0], f);
      // robfig: 'a/n' means from a to the field's end
      hi = bounds.length === 2 ? value(bounds[1], f) : stepText !== undefined ? f.max : lo;
      if (lo > hi) throw new Error(`${f.name} range '${range}' starts after it ends`);
    }
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw new Error(`${f.name} step '${stepText}' must be a whole number >= 1`);
      step = Number(stepText);
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, any: text === '*' || text === '?' };
}

/** Parses a CronJob schedule; throws an Error saying what is wrong. */
export function parseCron(expression: string): CronSchedule {
  if (typeof expression !== 'string') throw new Error('must be a string');
  const text = expression.trim();
  if (/^(CRON_)?TZ=/.test(text)) throw new Error("must not set a time zone with TZ= or CRON_TZ= (Kubernetes refuses it; the CronJob's timeZone field sets it)");
  let five = text;
  if (text.startsWith('@')) {
    const d = DESCRIPTORS[text.toLowerCase()];
    if (!d) throw new Error(`descriptor '${text}' is not one of ${Object.keys(DESCRIPTORS).join(', ')}`);
    five = d;
  }
  const parts = five.split(/\s+/);
  if (parts.length !== 5) throw new Error(`has ${parts.length} field(s); expected 5 (minute hour day-of-month month day-of-week)`);
  const [mi, h, dom, mon, dow] = parts.map((p, i) => parseField(p, FIELDS[i]));
  return {
    expression: text,
    minutes: mi.values,
    hours: h.values,
    daysOfMonth: dom.values,
    months: mon.values,
    daysOfWeek: dow.values,
    anyDayOfMonth: dom.any,
    anyDayOfWeek: dow.any,
  };
}

const DAY_MS = 86_400_000;

function dayMatches(s: CronSchedule, t: number): boolean {
  const d = new Date(t);
  if (!s.months.has(d.getUTCMonth() + 1)) return false;
  const domOk = s.daysOfMonth.has(d.getUTCDate());
  const dowOk = s.daysOfWeek.has(d.getUTCDay());
  if (s.anyDayOfMonth || s.anyDayOfWeek) return domOk && dowOk;
  return domOk || dowOk;
}

/**
 * The longest time between two consecutive runs, in minutes, over a full 28-year calendar cycle
 * (every weekday/leap-year combination), or undefined when the schedule never runs (`0 0 30 2 *`).
 * Pure arithmetic on a fixed calendar: no clock is read.
 */
export function longestGapMinutes(s: CronSchedule): number | undefined {
  const times = [...s.hours].sort((a, b) => a - b).flatMap((h) => [...s.minutes].sort((a, b) => a - b).map((m) => h * 60 + m));
  let intraDay = 0;
  for (let i = 1; i < times.length; i++) intraDay = Math.max(intraDay, times[i] - times[i - 1]);
  const start = Date.UTC(2001, 0, 1);
  const days = 28 * 365 + 7;
  let previousDay: number | undefined;
  let longest = 0;
  for (let i = 0; i < days; i++) {
    const t = start + i * DAY_MS;
    if (!dayMatches(s, t)) continue;
    if (previousDay !== undefined) {
      const gap = (i - previousDay) * 1440 - times[times.length - 1] + times[0];
      longest = Math.max(longest, gap);
    }
    previousDay = i;
  }
  if (previousDay === undefined) return undefined;
  return Math.max(longest, intraDay);
}
