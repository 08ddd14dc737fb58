// i18n core shared by both windows: the five dictionaries, interpolation and the
// translation of error codes. DOM-free (unit-tested in node).
import type { CommandError, Lang, LevelDto } from "../bindings";
import { ca } from "./ca";
import { en } from "./en";
import { es, type Messages } from "./es";
import { eu } from "./eu";
import { gl } from "./gl";

export type { Messages };
export type Params = { [key in string]?: string };

export const LANGS: readonly Lang[] = ["es", "ca", "gl", "eu", "en"];

/** Each language's name in that language (never translated). */
export const LANG_NAMES: Readonly<Record<Lang, string>> = {
  es: "Español",
  ca: "Català",
  gl: "Galego",
  eu: "Euskara",
  en: "English",
};

const DICTIONARIES: Readonly<Record<Lang, Messages>> = { es, ca, gl, eu, en };

export function messages(lang: Lang): Messages {
  return DICTIONARIES[lang];
}

export function isLang(value: unknown): value is Lang {
  return typeof value === "string" && (LANGS as readonly string[]).includes(value);
}

/** Keeps only the languages the app enables, in the canonical order; never empty. */
export function enabledLangs(configured: readonly Lang[], fallback: Lang): Lang[] {
  const list = LANGS.filter((l) => configured.includes(l));
  return list.length > 0 ? list : [fallback];
}

/**
 * Replaces `{name}` placeholders with `params[name]`. A placeholder without a value is
 * left as it is, so a missing parameter shows up instead of silently vanishing.
 */
export function fmt(template: string, params: Params = {}): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => {
    const value = params[name];
    return value === undefined ? whole : value;
  });
}

/** The `{name}` placeholders of a template, sorted and without duplicates. */
export function placeholders(template: string): string[] {
  const names = new Set<string>();
  for (const m of template.matchAll(/\{([A-Za-z0-9_]+)\}/g)) {
    if (m[1] !== undefined) names.add(m[1]);
  }
  return [...names].sort();
}

export function isLevel(value: unknown): value is LevelDto {
  return value === "basico" || value === "avanzado";
}

export function levelName(m: Messages, level: string): string {
  return isLevel(level) ? m.levels[level] : level;
}

/** `YYYY-MM-DD` → `DD/MM/YYYY` (how dates are written on Spanish documents); other text as is. */
export function displayDate(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return m === null ? value : `${m[3]}/${m[2]}/${m[1]}`;
}

/**
 * Parameter values that are themselves enumerations get translated (`level`, a document
 * kind) and ISO dates are shown the way they are printed on the document.
 */
function localiseParams(m: Messages, params: Params): Params {
  const out: Params = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    const lower = value.toLowerCase();
    if (key === "level") out[key] = levelName(m, lower);
    else if (lower === "dni" || lower === "nie") out[key] = m.documentKinds[lower];
    else out[key] = displayDate(value);
  }
  return out;
}

function lookup(m: Messages, code: string): string | undefined {
  const table: Readonly<Record<string, string | undefined>> = m.errors;
  return Object.prototype.hasOwnProperty.call(table, code) ? table[code] : undefined;
}

export function isKnownCode(code: string): boolean {
  return lookup(es, code) !== undefined;
}

/** The message for an error code in the given dictionary; unknown codes show the code. */
export function errorText(m: Messages, code: string, params: Params = {}): string {
  const template = lookup(m, code);
  if (template === undefined) return fmt(m.errorFallback, { code });
  return fmt(template, localiseParams(m, params));
}

export function commandErrorText(m: Messages, error: CommandError): string {
  return errorText(m, error.code, error.params);
}
