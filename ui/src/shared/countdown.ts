// Countdown arithmetic and formatting. DOM-free.

/** Whole seconds left until `deadlineMs` at `nowMs` (rounded up, never negative). */
export function secondsLeft(deadlineMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((deadlineMs - nowMs) / 1000));
}

/** `m:ss` (e.g. `4:05`, `0:09`); hours are folded into minutes (`75:00`). */
export function formatCountdown(totalSecs: number): string {
  const secs = Number.isFinite(totalSecs) ? Math.max(0, Math.floor(totalSecs)) : 0;
  const minutes = Math.floor(secs / 60);
  const seconds = secs % 60;
  return `${minutes}:${seconds.toString().padStart(2, "0")}`;
}

/**
 * A deadline measured on a monotonic clock. `now` is injected so tests need no timers.
 */
export class Deadline {
  readonly #deadline: number;
  readonly #now: () => number;

  constructor(secs: number, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#deadline = now() + Math.max(0, secs) * 1000;
  }

  secondsLeft(): number {
    return secondsLeft(this.#deadline, this.#now());
  }

  expired(): boolean {
    return this.secondsLeft() === 0;
  }
}
