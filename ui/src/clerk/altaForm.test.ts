import { describe, expect, it } from "vitest";
import type { AltaFormDto } from "../bindings";
import {
  contrastLayout,
  documentKindOf,
  emptyForm,
  errorId,
  FIELD_INPUT_IDS,
  firstInvalidField,
  fromDto,
  groupFieldErrors,
  isEmptyForm,
  toDto,
} from "./altaForm";

const filled: AltaFormDto = {
  document: "12345678Z",
  expiryDate: "31/12/2031",
  permanent: false,
  issueDate: "01/02/2015",
  supportNumber: "BAA000589",
  givenName: "Ana",
  firstSurname: "García",
  secondSurname: "",
  phone: "612 345 678",
  email: "ana@example.org",
  fromCard: false,
};

describe("documentKindOf", () => {
  it.each([
    ["12345678Z", "dni"],
    ["X1234567L", "nie"],
    ["  y1234567x", "nie"],
    ["z", "nie"],
    ["", "dni"],
    ["K1234567L", "dni"],
  ])("%j → %s", (doc, kind) => {
    expect(documentKindOf(doc)).toBe(kind);
  });
});

describe("contrastLayout", () => {
  it("DNI: expiry date and the permanent box, optional IDESP", () => {
    expect(contrastLayout({ document: "12345678Z", permanent: false })).toEqual({
      kind: "dni",
      expiry: true,
      permanentBox: true,
      issue: false,
      supportRequired: false,
    });
  });

  it("permanent DNI: issue date instead of expiry", () => {
    const l = contrastLayout({ document: "12345678Z", permanent: true });
    expect([l.expiry, l.issue]).toEqual([false, true]);
  });

  it("NIE: support number required, no dates, no permanent box", () => {
    expect(contrastLayout({ document: "X1234567L", permanent: true })).toEqual({
      kind: "nie",
      expiry: false,
      permanentBox: false,
      issue: false,
      supportRequired: true,
    });
  });
});

describe("toDto / fromDto", () => {
  it("sends a DNI form as typed, without the issue date", () => {
    expect(toDto(filled)).toEqual({ ...filled, issueDate: "" });
  });

  it("sends a permanent DNI with its issue date and no expiry", () => {
    expect(toDto({ ...filled, permanent: true })).toEqual({
      ...filled,
      permanent: true,
      expiryDate: "",
    });
  });

  it("sends a NIE with its support number and no dates", () => {
    const nie = { ...filled, document: "X1234567L", supportNumber: "E12345678", permanent: true };
    expect(toDto(nie)).toEqual({
      ...nie,
      expiryDate: "",
      issueDate: "",
      permanent: false,
    });
  });

  it("does not mutate its input", () => {
    const copy = { ...filled };
    toDto(copy);
    expect(copy).toEqual(filled);
  });

  it("round-trips a form the backend sends back", () => {
    const sent = toDto(filled);
    expect(toDto(fromDto(sent))).toEqual(sent);
    expect(fromDto(sent)).not.toBe(sent);
  });

  it("knows an empty form", () => {
    expect(isEmptyForm(emptyForm())).toBe(true);
    expect(isEmptyForm(filled)).toBe(false);
  });
});

describe("field errors", () => {
  const dni = contrastLayout(filled);

  it("groups errors by visible field; unknown or hidden fields go to `other`", () => {
    const g = groupFieldErrors(
      [
        { field: "phone", code: "PHN-004", params: {} },
        { field: "document", code: "DOC-004", params: {} },
        { field: "document", code: "DOC-999", params: {} },
        { field: "issueDate", code: "CTR-003", params: {} },
        { field: "birthDate", code: "X-001", params: {} },
      ],
      dni,
    );
    expect(g.byField.document?.map((e) => e.code)).toEqual(["DOC-004", "DOC-999"]);
    expect(g.byField.phone?.map((e) => e.code)).toEqual(["PHN-004"]);
    expect(g.other.map((e) => e.field)).toEqual(["issueDate", "birthDate"]);
    expect(firstInvalidField(g)).toBe("document");
  });

  it("has the stable ids the end-to-end tests use", () => {
    expect(FIELD_INPUT_IDS.document).toBe("alta-document");
    expect(FIELD_INPUT_IDS.supportNumber).toBe("alta-support");
    expect(errorId("document")).toBe("err-document");
    expect(errorId("expiryDate")).toBe("err-expiryDate");
  });
});
