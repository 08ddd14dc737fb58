import { describe, expect, it } from "vitest";
import { Deadline, formatCountdown, secondsLeft } from "./countdown";

describe("formatCountdown", () => {
  it.each([
    [300, "5:00"],
    [299, "4:59"],
    [65, "1:05"],
    [59, "0:59"],
    [9, "0:09"],
    [0, "0:00"],
    [-4, "0:00"],
    [4500, "75:00"],
    [12.7, "0:12"],
    [Number.NaN, "0:00"],
  ])("%s s → %s", (secs, text) => {
    expect(formatCountdown(secs)).toBe(text);
  });
});

describe("secondsLeft", () => {
  it("rounds up and never goes negative", () => {
    expect(secondsLeft(10_000, 0)).toBe(10);
    expect(secondsLeft(10_000, 1)).toBe(10);
    expect(secondsLeft(10_000, 9_001)).toBe(1);
    expect(secondsLeft(10_000, 10_000)).toBe(0);
    expect(secondsLeft(10_000, 20_000)).toBe(0);
  });
});

describe("Deadline", () => {
  it("counts down on the injected clock", () => {
    let now = 1_000;
    const d = new Deadline(300, () => now);
    expect(d.secondsLeft()).toBe(300);
    now += 1_500;
    expect(d.secondsLeft()).toBe(299);
    expect(d.expired()).toBe(false);
    now += 298_500;
    expect(d.secondsLeft()).toBe(0);
    expect(d.expired()).toBe(true);
  });
});
