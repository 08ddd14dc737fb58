// The alta form as data: which contrast fields apply to the document typed, the form ↔
// DTO mapping and the grouping of field errors. DOM-free (unit-tested in node).
import type { AltaFormDto, DocumentKindDto, FieldErrorDto } from "../bindings";

/** Every field of the form, by its DTO name (also the `field` of a FieldErrorDto). */
export const ALTA_FIELDS = [
  "document",
  "expiryDate",
  "permanent",
  "issueDate",
  "supportNumber",
  "givenName",
  "firstSurname",
  "secondSurname",
  "phone",
  "email",
] as const;
export type AltaField = (typeof ALTA_FIELDS)[number];

/** Stable element ids (used by the end-to-end tests). */
export const FIELD_INPUT_IDS: Readonly<Record<AltaField, string>> = {
  document: "alta-document",
  expiryDate: "alta-expiry",
  permanent: "alta-permanent",
  issueDate: "alta-issue",
  supportNumber: "alta-support",
  givenName: "alta-given-name",
  firstSurname: "alta-first-surname",
  secondSurname: "alta-second-surname",
  phone: "alta-phone",
  email: "alta-email",
};

export function errorId(field: AltaField): string {
  return `err-${field}`;
}

export function isAltaField(value: string): value is AltaField {
  return (ALTA_FIELDS as readonly string[]).includes(value);
}

export function emptyForm(): AltaFormDto {
  return {
    document: "",
    expiryDate: "",
    permanent: false,
    issueDate: "",
    supportNumber: "",
    givenName: "",
    firstSurname: "",
    secondSurname: "",
    phone: "",
    email: "",
    fromCard: false,
  };
}

/** Same rule as the domain's `DocumentKind::guess`: X/Y/Z first → NIE, anything else → DNI. */
export function documentKindOf(document: string): DocumentKindDto {
  const first = document.trimStart().charAt(0).toUpperCase();
  return first === "X" || first === "Y" || first === "Z" ? "nie" : "dni";
}

export type ContrastLayout = {
  kind: DocumentKindDto;
  /** DNI, not permanent. */
  expiry: boolean;
  /** DNI only. */
  permanentBox: boolean;
  /** Permanent DNI. */
  issue: boolean;
  /** Always shown: optional IDESP for a DNI, required support number for a NIE. */
  supportRequired: boolean;
};

export function contrastLayout(form: Pick<AltaFormDto, "document" | "permanent">): ContrastLayout {
  const kind = documentKindOf(form.document);
  if (kind === "nie") {
    return { kind, expiry: false, permanentBox: false, issue: false, supportRequired: true };
  }
  return {
    kind,
    expiry: !form.permanent,
    permanentBox: true,
    issue: form.permanent,
    supportRequired: false,
  };
}

/** Whether a field is on screen for the current form. */
export function fieldVisible(field: AltaField, layout: ContrastLayout): boolean {
  switch (field) {
    case "expiryDate":
      return layout.expiry;
    case "permanent":
      return layout.permanentBox;
    case "issueDate":
      return layout.issue;
    default:
      return true;
  }
}

/**
 * The DTO sent to `alta_submit`: exactly what was typed, except that the contrast fields
 * which do not apply to the document (hidden on screen) are sent empty.
 */
export function toDto(form: AltaFormDto): AltaFormDto {
  const layout = contrastLayout(form);
  return {
    document: form.document,
    expiryDate: layout.expiry ? form.expiryDate : "",
    permanent: layout.permanentBox ? form.permanent : false,
    issueDate: layout.issue ? form.issueDate : "",
    supportNumber: form.supportNumber,
    givenName: form.givenName,
    firstSurname: form.firstSurname,
    secondSurname: form.secondSurname,
    phone: form.phone,
    email: form.email,
    fromCard: form.fromCard,
  };
}

/** A form coming back from the backend (citizen said "wrong", timeout, failure). */
export function fromDto(dto: AltaFormDto): AltaFormDto {
  // An older backend may omit `fromCard`: then the form was typed by hand.
  return { ...emptyForm(), ...dto, fromCard: dto.fromCard === true };
}

export function isEmptyForm(form: AltaFormDto): boolean {
  const empty = emptyForm();
  return ALTA_FIELDS.every((f) => form[f] === empty[f]);
}

export type GroupedFieldErrors = {
  byField: Partial<Record<AltaField, FieldErrorDto[]>>;
  /** Errors for unknown fields or fields not on screen: shown in one list above the form. */
  other: FieldErrorDto[];
};

export function groupFieldErrors(
  errors: readonly FieldErrorDto[],
  layout: ContrastLayout,
): GroupedFieldErrors {
  const out: GroupedFieldErrors = { byField: {}, other: [] };
  for (const e of errors) {
    if (isAltaField(e.field) && fieldVisible(e.field, layout)) {
      (out.byField[e.field] ??= []).push(e);
    } else {
      out.other.push(e);
    }
  }
  return out;
}

/** The first field (in form order) that has an error, to move the focus there. */
export function firstInvalidField(grouped: GroupedFieldErrors): AltaField | undefined {
  return ALTA_FIELDS.find((f) => (grouped.byField[f]?.length ?? 0) > 0);
}
