// Normalising whatever an `invoke` rejects with into a CommandError. DOM-free.
import type { CommandError, FieldErrorDto } from "../bindings";

type Params = Record<string, string>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toParams(value: unknown): Params {
  const out: Params = {};
  if (!isRecord(value)) return out;
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === "string") out[key] = v;
    else if (typeof v === "number" || typeof v === "boolean") out[key] = String(v);
  }
  return out;
}

function toFieldErrors(value: unknown): FieldErrorDto[] {
  if (!Array.isArray(value)) return [];
  const out: FieldErrorDto[] = [];
  for (const item of value) {
    if (isRecord(item) && typeof item["field"] === "string" && typeof item["code"] === "string") {
      out.push({ field: item["field"], code: item["code"], params: toParams(item["params"]) });
    }
  }
  return out;
}

/** Code used when a rejection is not a CommandError (IPC refused, bridge missing…). */
export const IPC_ERROR_CODE = "IPC-001";

export function toCommandError(error: unknown): CommandError {
  if (isRecord(error) && typeof error["code"] === "string") {
    return {
      code: error["code"],
      message: typeof error["message"] === "string" ? error["message"] : "",
      params: toParams(error["params"]),
      fields: toFieldErrors(error["fields"]),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: IPC_ERROR_CODE, message, params: {}, fields: [] };
}
