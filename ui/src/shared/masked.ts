// The citizen's masked data as a labelled list. Shared by the counter screen and the
// clerk's waiting panel (which shows the clerk exactly what the citizen sees).
import type { MaskedCitizenDto } from "../bindings";
import { fmt, levelName, type Messages } from "../i18n";
import { h } from "./dom";

export function maskedList(m: Messages, citizen: MaskedCitizenDto, idPrefix: string): HTMLDListElement {
  const c = m.citizen;
  const row = (key: string, label: string, value: string): HTMLElement[] => [
    h("dt", {}, label),
    h("dd", { id: `${idPrefix}${key}` }, value),
  ];
  return h(
    "dl",
    { class: "masked" },
    row("name", c.name, citizen.name),
    row("document", fmt(c.document, { kind: m.documentKinds[citizen.documentKind] }), citizen.document),
    row("contrast", c.contrast[citizen.contrastKind], citizen.contrast),
    row("phone", c.phone, citizen.phone),
    row("email", c.email, citizen.email),
    row("level", c.level, levelName(m, citizen.level)),
  );
}
