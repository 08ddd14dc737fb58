// The one place both windows call Tauri from. Every rejection becomes a CommandError.
import { invoke, type InvokeArgs } from "@tauri-apps/api/core";
import type { CommandError } from "../bindings";
import { toCommandError } from "./errors";

export { Channel } from "@tauri-apps/api/core";
export type { CommandError };

export async function call<T>(command: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toCommandError(error);
  }
}

/** A rejected `call` always carries a CommandError; this narrows `unknown` in catch blocks. */
export function asCommandError(error: unknown): CommandError {
  return toCommandError(error);
}
