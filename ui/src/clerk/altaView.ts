// The alta form on screen. Built once per render; while the clerk types, only the parts
// that change (contrast fields shown, a field's error cleared) are updated in place, so an
// input is never replaced under the clerk's (or WebDriver's) fingers.
import type { AltaFormDto, FieldErrorDto } from "../bindings";
import { errorText, fmt, type Messages } from "../i18n";
import { h, icon } from "../shared/dom";
import { fieldLocked } from "./card";
import {
  ALTA_FIELDS,
  type AltaField,
  contrastLayout,
  type ContrastLayout,
  errorId,
  FIELD_INPUT_IDS,
  fieldVisible,
  groupFieldErrors,
} from "./altaForm";

export type AltaFormHandlers = {
  /** The model changed (already written into `form`). */
  onChange(field: AltaField): void;
  onSubmit(): void;
  onCancel(): void;
};

export type AltaFormOptions = {
  m: Messages;
  form: AltaFormDto;
  errors: readonly FieldErrorDto[];
  submitting: boolean;
  handlers: AltaFormHandlers;
  /**
   * Shown in the identity group, under the document (the "identity proven with DNIe and
   * PIN" badge); the caller updates it in place.
   */
  identitySlot?: HTMLElement;
};

type TextField = Exclude<AltaField, "permanent">;

const HINT_IDS: Partial<Record<AltaField, string>> = {
  document: "hint-document",
  expiryDate: "hint-expiryDate",
  issueDate: "hint-issueDate",
  supportNumber: "hint-supportNumber",
  phone: "hint-phone",
};

function fieldMessages(m: Messages, errors: readonly FieldErrorDto[]): string[] {
  return errors.map((e) => errorText(m, e.code, e.params));
}

function errorElement(field: AltaField, messages: readonly string[]): HTMLElement {
  return h(
    "p",
    { id: errorId(field), class: "field-error" },
    icon("warning"),
    h("span", {}, messages.join(" ")),
  );
}

function describedBy(field: AltaField, hasError: boolean): string {
  return [HINT_IDS[field], hasError ? errorId(field) : undefined]
    .filter((x): x is string => x !== undefined)
    .join(" ");
}

function supportTexts(m: Messages, layout: ContrastLayout): { label: string; hint: string } {
  return layout.supportRequired
    ? { label: m.clerk.alta.supportNie, hint: m.clerk.alta.supportNieHint }
    : { label: m.clerk.alta.supportDni, hint: m.clerk.alta.supportDniHint };
}

/** Builds the form. Returns the element; all later updates happen in place. */
export function altaFormView(opts: AltaFormOptions): HTMLFormElement {
  const { m, form, handlers } = opts;
  const a = m.clerk.alta;
  let layout = contrastLayout(form);
  const grouped = groupFieldErrors(opts.errors, layout);
  const containers = new Map<AltaField, HTMLElement>();
  const inputs = new Map<AltaField, HTMLInputElement>();

  const optionalMark = (): HTMLElement => h("span", { class: "optional" }, ` (${m.common.optional})`);
  const cardMark = (): HTMLElement =>
    h("span", { class: "card-mark" }, icon("lock"), h("span", {}, m.clerk.identify.fieldMark));

  function textField(
    field: TextField,
    label: string,
    extra: {
      hint?: string;
      optional?: boolean;
      type?: string;
      autocomplete?: string;
      inputmode?: string;
      placeholder?: string;
      uppercase?: boolean;
    } = {},
  ): HTMLElement {
    const errors = grouped.byField[field] ?? [];
    const hasError = errors.length > 0;
    // Card-given fields of a form read from the DNIe: read-only, marked as such.
    const locked = fieldLocked(form, field);
    const input = h("input", {
      id: FIELD_INPUT_IDS[field],
      name: field,
      type: extra.type ?? "text",
      value: form[field],
      autocomplete: extra.autocomplete ?? "off",
      inputmode: extra.inputmode,
      placeholder: extra.placeholder,
      spellcheck: "false",
      autocapitalize: extra.uppercase === true ? "characters" : "off",
      required: extra.optional !== true,
      "aria-required": extra.optional === true ? undefined : "true",
      "aria-invalid": hasError ? "true" : "false",
      "aria-describedby": describedBy(field, hasError) || undefined,
      class: [extra.uppercase === true ? "upper" : "", locked ? "from-card" : ""].join(" ").trim() || undefined,
      readonly: locked,
      "aria-readonly": locked ? "true" : undefined,
      "data-from-card": locked ? "true" : undefined,
    });
    input.addEventListener("input", () => {
      form[field] = input.value;
      clearError(field);
      if (field === "document") applyLayout();
      handlers.onChange(field);
    });
    inputs.set(field, input);
    const hintId = HINT_IDS[field];
    const container = h(
      "div",
      { class: "field", "data-field": field, hidden: !fieldVisible(field, layout) },
      h(
        "label",
        { for: FIELD_INPUT_IDS[field] },
        h("span", { class: "label-text" }, label),
        extra.optional === true ? optionalMark() : null,
        locked ? cardMark() : null,
      ),
      input,
      hintId !== undefined && extra.hint !== undefined
        ? h("p", { id: hintId, class: "hint" }, extra.hint)
        : null,
      hasError ? errorElement(field, fieldMessages(m, errors)) : null,
    );
    containers.set(field, container);
    return container;
  }

  function permanentField(): HTMLElement {
    const errors = grouped.byField.permanent ?? [];
    const hasError = errors.length > 0;
    const box = h("input", {
      id: FIELD_INPUT_IDS.permanent,
      name: "permanent",
      type: "checkbox",
      checked: form.permanent,
      "aria-invalid": hasError ? "true" : "false",
      "aria-describedby": hasError ? errorId("permanent") : undefined,
    });
    box.addEventListener("change", () => {
      form.permanent = box.checked;
      clearError("permanent");
      applyLayout();
      handlers.onChange("permanent");
    });
    inputs.set("permanent", box);
    const container = h(
      "div",
      { class: "field field-check", "data-field": "permanent", hidden: !layout.permanentBox },
      box,
      h("label", { for: FIELD_INPUT_IDS.permanent }, a.permanent),
      hasError ? errorElement("permanent", fieldMessages(m, errors)) : null,
    );
    containers.set("permanent", container);
    return container;
  }

  function clearError(field: AltaField): void {
    containers.get(field)?.querySelector(".field-error")?.remove();
    const input = inputs.get(field);
    if (input === undefined) return;
    input.setAttribute("aria-invalid", "false");
    const ids = describedBy(field, false);
    if (ids === "") input.removeAttribute("aria-describedby");
    else input.setAttribute("aria-describedby", ids);
  }

  const detected = h("p", { id: "alta-document-kind", class: "detected", "aria-live": "polite" });
  const supportLabel = h("span", { class: "label-text" });
  const supportOptional = optionalMark();
  const support = textField("supportNumber", "", {
    hint: "",
    uppercase: true,
  });
  // The support number's label, hint and requiredness follow the document kind.
  support.querySelector("label .label-text")?.replaceWith(supportLabel);
  supportLabel.after(supportOptional);
  const supportHint = support.querySelector(".hint");

  function applyLayout(): void {
    layout = contrastLayout(form);
    for (const field of ALTA_FIELDS) {
      const container = containers.get(field);
      if (container === undefined) continue;
      const visible = fieldVisible(field, layout);
      container.hidden = !visible;
      if (!visible) clearError(field);
    }
    const texts = supportTexts(m, layout);
    supportLabel.textContent = texts.label;
    if (supportHint !== null) supportHint.textContent = texts.hint;
    supportOptional.hidden = layout.supportRequired;
    const supportInput = inputs.get("supportNumber");
    if (supportInput !== undefined) {
      supportInput.required = layout.supportRequired;
      if (layout.supportRequired) supportInput.setAttribute("aria-required", "true");
      else supportInput.removeAttribute("aria-required");
    }
    detected.textContent =
      form.document.trim() === "" ? "" : fmt(a.detected, { kind: m.documentKinds[layout.kind] });
  }

  const other = grouped.other;
  const otherList =
    other.length > 0
      ? h(
          "div",
          { id: "err-form", class: "form-errors", role: "alert" },
          h("p", {}, icon("warning"), a.otherErrors),
          h(
            "ul",
            {},
            other.map((e) => h("li", {}, errorText(m, e.code, e.params))),
          ),
        )
      : null;

  const el = h(
    "form",
    {
      id: "alta-form",
      class: "alta-form",
      novalidate: true,
      autocomplete: "off",
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        handlers.onSubmit();
      },
      onkeydown: (ev: Event) => {
        // Enter on the checkbox submits too (text inputs do it natively).
        if (
          ev instanceof KeyboardEvent &&
          ev.key === "Enter" &&
          ev.target instanceof HTMLInputElement &&
          ev.target.type === "checkbox"
        ) {
          ev.preventDefault();
          handlers.onSubmit();
        }
      },
    },
    otherList,
    h(
      "div",
      { class: "form-grid" },
      h(
        "fieldset",
        { class: "group" },
        h("legend", {}, a.identity),
        textField("document", a.document, {
          hint: a.documentHint,
          uppercase: true,
        }),
        detected,
        opts.identitySlot ?? null,
      ),
      h(
        "fieldset",
        { class: "group" },
        h("legend", {}, a.contrast),
        textField("expiryDate", a.expiry, {
          hint: a.dateHint,
          placeholder: a.dateHint,
          inputmode: "numeric",
        }),
        permanentField(),
        textField("issueDate", a.issue, {
          hint: a.dateHint,
          placeholder: a.dateHint,
          inputmode: "numeric",
        }),
        support,
      ),
      h(
        "fieldset",
        { class: "group" },
        h("legend", {}, a.person),
        textField("givenName", a.givenName, { autocomplete: "off" }),
        textField("firstSurname", a.firstSurname),
        textField("secondSurname", a.secondSurname, { optional: true }),
      ),
      h(
        "fieldset",
        { class: "group" },
        h("legend", {}, a.contact),
        textField("phone", a.phone, { type: "tel", hint: a.phoneHint, inputmode: "tel" }),
        textField("email", a.email, { type: "email" }),
      ),
    ),
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          id: "alta-submit",
          type: "submit",
          class: "primary",
          disabled: opts.submitting,
          "aria-disabled": opts.submitting ? "true" : undefined,
        },
        opts.submitting ? a.submitting : a.submit,
      ),
      h(
        "button",
        {
          id: "alta-cancel",
          type: "button",
          class: "secondary",
          onclick: () => handlers.onCancel(),
        },
        a.cancel,
      ),
    ),
  );
  applyLayout();
  return el;
}
