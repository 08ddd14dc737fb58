import { describe, expect, it } from "vitest";
import { throttle } from "./throttle";

describe("throttle", () => {
  it("runs at most once per interval, leading edge", () => {
    let now = 0;
    let calls = 0;
    const t = throttle(() => (calls += 1), 20_000, () => now);
    expect(t()).toBe(true);
    now = 5_000;
    expect(t()).toBe(false);
    now = 19_999;
    expect(t()).toBe(false);
    now = 20_000;
    expect(t()).toBe(true);
    expect(calls).toBe(2);
  });

  it("runs again at once after reset", () => {
    let now = 0;
    let calls = 0;
    const t = throttle(() => (calls += 1), 20_000, () => now);
    t();
    now = 1_000;
    t.reset();
    expect(t()).toBe(true);
    expect(calls).toBe(2);
  });
});
