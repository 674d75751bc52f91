// Texts the server writes (alert titles and explanations, risk reasons, daily-summary
// sentences), shown in the page's language. The server sends each as a message key with raw
// parameters ({key, params}, sst_core/texts.py) next to its English words; this renders the key
// from the "text." entries of en.ts / ko.ts and falls back to the server's English words when
// the key, a parameter or a format is unknown (an older row, a newer server).
//
// A placeholder is {param} or {param:format}. The formats, shared with the server's English
// catalog (which must say the same in English: tests/i18n-server.test.ts checks it), take
// their words from the "fmt." entries of the catalogs.
import { catalogText, getLocale, type Locale } from "./index";

export type ServerParam = string | number | boolean | null | ServerText | ServerText[];

/** A server text in its language-neutral form. */
export interface ServerText {
  key: string;
  params: Record<string, ServerParam>;
}

/** An alert's title and explanation as server texts (the alert's `text`). */
export interface AlertText {
  title: ServerText;
  explanation: ServerText;
}

const PLACEHOLDER = /\{(\w+)(?::(\w+))?\}/g;

/** Raised when a text cannot be rendered; the caller then shows the server's English. */
class Unrenderable extends Error {}

/** Whether a value has the shape of a server text (parameters are checked as they are used). */
export function isServerText(value: unknown): value is ServerText {
  if (typeof value !== "object" || value === null) return false;
  const text = value as { key?: unknown; params?: unknown };
  return (
    typeof text.key === "string" &&
    (text.params === undefined ||
      (typeof text.params === "object" && text.params !== null && !Array.isArray(text.params)))
  );
}

function word(key: string, locale: Locale, params: Record<string, string | number> = {}): string {
  const template = catalogText(key, locale);
  if (template === undefined) throw new Unrenderable(key);
  return template.replace(/\{(\w+)\}/g, (match, name: string) =>
    name in params ? String(params[name]) : match,
  );
}

function str(value: ServerParam): string {
  if (typeof value !== "string") throw new Unrenderable("not a string");
  return value;
}

function num(value: ServerParam): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Unrenderable("not a number");
  return value;
}

function int(value: ServerParam): number {
  return Math.trunc(num(value));
}

/** A room's name; the standard name of its kind ("Bathroom") in the page's language. */
function roomName(name: string, kind: ServerParam | undefined, locale: Locale): string {
  if (typeof kind !== "string") return name;
  const key = `fmt.roomKind.${kind}`;
  return catalogText(key, "en") === name ? (catalogText(key, locale) ?? name) : name;
}

/**
 * A room's name as the page shows it: a room still called by its kind's standard English name
 * ("Bathroom", kind "bathroom") in the page's language; a name the home gave it, as it is.
 */
export function roomLabel(name: string, kind?: string | null, locale: Locale = getLocale()): string {
  // Without the kind (live sensor state names rooms only), a standard name is its own kind's.
  const known = kind ?? ROOM_KINDS.find((k) => catalogText(`fmt.roomKind.${k}`, "en") === name);
  return roomName(name, known, locale);
}

const ROOM_KINDS = ["bedroom", "bathroom", "kitchen", "living", "hall", "entrance"] as const;

/** The room named in an alert's structured title (its kind travels there), as roomLabel. */
export function alertRoomLabel(
  alert: { room?: string | null; text?: AlertText | null | undefined },
  locale: Locale = getLocale(),
): string | null {
  if (!alert.room) return null;
  const kind = alert.text?.title?.params?.["room_kind"];
  return roomLabel(alert.room, typeof kind === "string" ? kind : null, locale);
}

function kindName(kind: string, locale: Locale): string {
  return catalogText(`fmt.roomKind.${kind}`, locale) ?? kind;
}

function span(minutes: number, locale: Locale): string {
  const total = Math.max(0, Math.trunc(minutes));
  const h = Math.floor(total / 60);
  const m = total % 60;
  if (h && m) return word("fmt.spanHM", locale, { h, m });
  return h ? word("fmt.spanH", locale, { h }) : word("fmt.spanM", locale, { m });
}

function hmm(minutes: number, locale: Locale): string {
  const whole = Math.trunc(minutes);
  if (whole < 60) return word("fmt.hmmM", locale, { m: whole });
  const m = whole % 60;
  return word("fmt.hmmHM", locale, { h: Math.floor(whole / 60), m, mm: String(m).padStart(2, "0") });
}

/** Python's `{:g}` for the numbers texts carry (six significant digits, no trailing zeros). */
function shortest(value: number): string {
  return String(Number(value.toPrecision(6)));
}

type Format = (
  value: ServerParam,
  params: Record<string, ServerParam>,
  name: string,
  locale: Locale,
) => string;

const FORMATS: Record<string, Format> = {
  in: (v, p, n, l) =>
    v ? word("fmt.in", l, { room: roomName(str(v), p[`${n}_kind`], l) }) : word("fmt.inNone", l),
  the: (v, p, n, l) => {
    if (v) return word("fmt.the", l, { room: roomName(str(v), p[`${n}_kind`], l) });
    const kind = p[`${n}_kind`];
    return typeof kind === "string" && kind
      ? word("fmt.theKind", l, { kind, kindName: kindName(kind, l) })
      : word("fmt.theNone", l);
  },
  room: (v, p, n, l) =>
    v ? word("fmt.room", l, { room: roomName(str(v), p[`${n}_kind`], l) }) : word("fmt.roomNone", l),
  span: (v, _p, _n, l) => span(num(v), l),
  hmm: (v, _p, _n, l) => hmm(num(v), l),
  g: (v) => shortest(num(v)),
  f1: (v) => num(v).toFixed(1),
  times: (v, _p, _n, l) => {
    const n = int(v);
    return n >= 0 && n <= 2 ? word(`fmt.times${n}`, l) : word("fmt.timesN", l, { n });
  },
  daymon: (v, _p, _n, l) => {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(str(v));
    if (!match) throw new Unrenderable("not a date");
    const month = Number(match[2]);
    const day = Number(match[3]);
    return word("fmt.daymon", l, { day, month, monthName: word(`fmt.month.${month}`, l) });
  },
  weekday: (v, _p, _n, l) => word(`fmt.weekday.${int(v)}`, l),
  sensor: (v, _p, _n, l) =>
    catalogText(`fmt.sensor.${str(v)}`, l) ?? word("fmt.sensorOther", l, { kind: str(v) }),
  watches: (v, _p, _n, l) => catalogText(`fmt.watches.${str(v)}`, l) ?? word("fmt.watchesOther", l),
  state: (v, _p, _n, l) => catalogText(`fmt.state.${str(v)}`, l) ?? str(v),
  list: (v, _p, _n, l) => {
    if (!Array.isArray(v)) throw new Unrenderable("not a list");
    return v.map((item) => render(item, l)).join(word("fmt.listSeparator", l));
  },
};

/** The formats a catalog template may use, for the catalog tests. */
export const SERVER_TEXT_FORMATS: readonly string[] = Object.keys(FORMATS);

function plain(value: ServerParam, locale: Locale): string {
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isInteger(value)) return String(value);
  if (isServerText(value)) return render(value, locale);
  throw new Unrenderable("a fraction, a boolean or a list needs a format");
}

function render(text: unknown, locale: Locale): string {
  if (!isServerText(text)) throw new Unrenderable("not a text");
  const template = catalogText(`text.${text.key}`, locale);
  if (template === undefined) throw new Unrenderable(text.key);
  const params = text.params ?? {};
  return template.replace(PLACEHOLDER, (_match, name: string, format: string | undefined) => {
    if (!Object.prototype.hasOwnProperty.call(params, name)) throw new Unrenderable(name);
    const value = params[name] as ServerParam;
    if (format === undefined) return plain(value, locale);
    const apply = FORMATS[format];
    if (apply === undefined) throw new Unrenderable(format);
    return apply(value, params, name, locale);
  });
}

/**
 * A server text in `locale` (default: the page's language); `fallback` (the server's English
 * words) when there is no structured text or any part of it is unknown to this page.
 */
export function serverWords(text: unknown, fallback: string, locale: Locale = getLocale()): string {
  if (text === null || text === undefined) return fallback;
  try {
    return render(text, locale);
  } catch (error) {
    if (error instanceof Unrenderable) return fallback;
    throw error;
  }
}

/** The alert's title in the page's language. */
export function alertTitle(
  alert: { title: string; text?: AlertText | null | undefined },
  locale?: Locale,
): string {
  return serverWords(alert.text?.title, alert.title, locale);
}

/** The alert's explanation in the page's language. */
export function alertExplanation(
  alert: { explanation: string; text?: AlertText | null | undefined },
  locale?: Locale,
): string {
  return serverWords(alert.text?.explanation, alert.explanation, locale);
}
