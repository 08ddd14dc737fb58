// Leading-edge throttle with an injected clock. DOM-free (unit-tested in node).

export type Throttled = {
  /** Runs `fn` unless it already ran less than `intervalMs` ago. Returns whether it ran. */
  (): boolean;
  /** Forgets the last run, so the next call runs at once (e.g. after login or unlock). */
  reset(): void;
};

export function throttle(fn: () => void, intervalMs: number, now: () => number): Throttled {
  let last: number | null = null;
  const run = (): boolean => {
    const t = now();
    if (last !== null && t - last < intervalMs) return false;
    last = t;
    fn();
    return true;
  };
  return Object.assign(run, {
    reset(): void {
      last = null;
    },
  });
}
