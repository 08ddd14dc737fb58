import { describe, expect, it } from "vitest";
import { IPC_ERROR_CODE, toCommandError } from "./errors";

describe("toCommandError", () => {
  it("keeps a CommandError as it is", () => {
    const e = {
      code: "ALT-002",
      message: "invalid form",
      params: {},
      fields: [{ field: "document", code: "DOC-004", params: { expected: "Z" } }],
    };
    expect(toCommandError(e)).toEqual(e);
  });

  it("coerces numeric params to strings and drops nested values", () => {
    const e = toCommandError({ code: "AUTH-002", params: { retryAfterSecs: 30, x: { y: 1 } } });
    expect(e).toEqual({ code: "AUTH-002", message: "", params: { retryAfterSecs: "30" }, fields: [] });
  });

  it("drops malformed field errors", () => {
    const e = toCommandError({
      code: "ALT-002",
      fields: [{ field: "phone", code: "PHN-001" }, { field: 3 }, "nope"],
    });
    expect(e.fields).toEqual([{ field: "phone", code: "PHN-001", params: {} }]);
  });

  it("wraps a plain string rejection (e.g. a command refused by the ACL)", () => {
    const e = toCommandError("Command clerk_login not allowed by ACL");
    expect(e.code).toBe(IPC_ERROR_CODE);
    expect(e.message).toContain("not allowed");
  });

  it("wraps an Error", () => {
    expect(toCommandError(new Error("boom"))).toEqual({
      code: IPC_ERROR_CODE,
      message: "boom",
      params: {},
      fields: [],
    });
  });
});
