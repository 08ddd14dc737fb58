// The DNIe parts of the clerk console: the reader status strip, the "identify the citizen"
// panel (card → form, "type by hand", "verify with PIN"), the PIN badge and the training
// panel. Each is rebuilt from state and swapped in place by main.ts; the logic they show
// lives in the DOM-free card.ts and readers.ts.
import type { AltaFormDto, CommandError, ReadersDto, TrainingCardDto } from "../bindings";
import { commandErrorText, fmt, type Messages } from "../i18n";
import { h, icon } from "../shared/dom";
import { pinFailureText } from "../shared/pin";
import { cardSituation, type PinStep, pinOffer, pinProven, pinStatusState } from "./card";
import {
  cardDetails,
  cardIdentity,
  cardName,
  type IdentifiedCard,
  isPinOnlyState,
  overallLabel,
  overallState,
  pinOnlyCard,
  readerStateLabel,
  trainingCardLabel,
} from "./readers";

/** #reader-status: every reader with its state (icon + text), the one in use marked. */
export function readerStatusView(m: Messages, readers: ReadersDto | null): HTMLElement {
  const r = m.clerk.readers;
  const overall = overallLabel(m, readers);
  const list = readers?.service === true ? readers.readers : [];
  return h(
    "section",
    {
      id: "reader-status",
      class: "readers",
      role: "status",
      "aria-labelledby": "reader-status-title",
      "data-state": overallState(readers),
    },
    h("h2", { id: "reader-status-title", class: "readers-title" }, icon("card"), r.title),
    overall !== null
      ? h("p", { class: "reader-state", "data-state": overallState(readers) }, icon(overall.icon), h("span", {}, overall.text))
      : h(
          "ul",
          { class: "reader-list" },
          list.map((reader) => {
            const label = readerStateLabel(m, reader.state);
            return h(
              "li",
              {
                class: `reader${reader.selected ? " selected" : ""}${isPinOnlyState(reader.state) ? " pin-only" : ""}`,
                "data-state": reader.state.state,
                "data-code": reader.state.state === "error" ? reader.state.code : undefined,
                "data-selected": reader.selected ? "true" : "false",
                "aria-current": reader.selected ? "true" : undefined,
              },
              icon(label.icon),
              h("span", { class: "reader-name" }, reader.name),
              h("span", { class: "reader-text" }, label.text),
              reader.selected ? h("strong", { class: "selected-mark" }, `(${r.selected})`) : null,
            );
          }),
        ),
  );
}

export type IdentifyHandlers = {
  onUseCard(): void;
  onTypeManually(): void;
  onRequestPin(): void;
  onCancelPin(): void;
};

export type IdentifyOptions = {
  m: Messages;
  form: AltaFormDto;
  readers: ReadersDto | null;
  /** A DNIe 2.0 identified by its PIN (`cardIdentified`), if any. */
  identified: IdentifiedCard | null;
  pin: PinStep;
  /** A PIN cancel is in flight. */
  cancelling: boolean;
  handlers: IdentifyHandlers;
};

/** #identify: what the card in the reader offers for this form, and the PIN step. */
export function identifyPanel(opts: IdentifyOptions): HTMLElement {
  const { m, form, readers, pin, handlers } = opts;
  const t = m.clerk.identify;
  const identity = cardIdentity(readers, opts.identified);
  const situation = cardSituation(form, identity, pinOnlyCard(readers));
  const body: Array<HTMLElement | null> = [];

  const useCardButton = (label: string): HTMLElement =>
    h("button", { id: "use-card", type: "button", class: "primary", onclick: () => handlers.onUseCard() }, label);
  const fromCardNote = (): HTMLElement =>
    h("p", { class: "card-line strong", id: "from-card-note" }, icon("lock"), h("span", {}, t.fromCard));
  const typeManuallyButton = (): HTMLElement =>
    h(
      "button",
      {
        id: "type-manually",
        type: "button",
        class: "secondary",
        "aria-describedby": "type-manually-hint",
        onclick: () => handlers.onTypeManually(),
      },
      t.typeManually,
    );

  switch (situation.kind) {
    case "noCard":
      body.push(
        overallState(readers) === "reading"
          ? h("p", { class: "card-line" }, icon("clock"), h("span", {}, t.reading))
          : h("p", { class: "muted card-line" }, icon("info"), h("span", {}, t.insertCard)),
      );
      break;
    case "offer":
      body.push(
        h(
          "p",
          { class: "card-line strong", id: "card-in-reader" },
          icon("check"),
          h(
            "span",
            {},
            fmt(t.cardInReader, { name: cardName(situation.identity), document: situation.identity.document }),
          ),
        ),
        h("p", { class: "muted small" }, cardDetails(m, situation.identity)),
        h("div", { class: "actions" }, useCardButton(t.useCard)),
      );
      break;
    case "inUse":
      body.push(
        fromCardNote(),
        h("p", { class: "muted small" }, cardDetails(m, situation.identity)),
      );
      break;
    case "removed":
      body.push(
        fromCardNote(),
        h(
          "p",
          { id: "card-warning", class: "warn-line", role: "alert" },
          icon("warning"),
          h("span", {}, pinProven(pin, form) ? t.cardRemoved : `${t.cardRemoved} ${t.cardRemovedPin}`),
        ),
      );
      break;
    case "otherCard":
      body.push(
        fromCardNote(),
        h(
          "p",
          { id: "card-warning", class: "warn-line", role: "alert" },
          icon("warning"),
          h("span", {}, fmt(t.otherCard, { document: situation.identity.document })),
        ),
        h(
          "p",
          { class: "card-line", id: "card-in-reader" },
          icon("info"),
          h(
            "span",
            {},
            fmt(t.cardInReader, { name: cardName(situation.identity), document: situation.identity.document }),
          ),
        ),
      );
      break;
    case "pinOnly":
      body.push(
        form.fromCard ? fromCardNote() : null,
        h("p", { class: "card-line strong", id: "pin-only-note" }, icon("info"), h("span", {}, t.pinOnly)),
      );
      break;
  }

  const offer = pinOffer(pin, situation, form);
  if (form.fromCard || offer !== null) {
    const identify = offer?.purpose === "identify";
    const label = offer === null ? "" : offer.again ? t.requestPinAgain : identify ? t.identifyWithPin : t.requestPin;
    body.push(
      h(
        "div",
        { class: "actions" },
        situation.kind === "otherCard" ? useCardButton(t.useOtherCard) : null,
        offer !== null
          ? h(
              "button",
              {
                id: "request-pin",
                type: "button",
                class: "primary",
                disabled: !offer.enabled,
                "aria-describedby": identify ? "pin-only-note request-pin-hint" : "request-pin-hint",
                onclick: () => handlers.onRequestPin(),
              },
              icon("lock"),
              h("span", {}, label),
            )
          : null,
        form.fromCard ? typeManuallyButton() : null,
      ),
      offer !== null
        ? h("p", { id: "request-pin-hint", class: "hint" }, identify ? t.identifyWithPinHint : t.requestPinHint)
        : null,
      form.fromCard ? h("p", { id: "type-manually-hint", class: "hint" }, t.typeManuallyHint) : null,
    );
  }

  body.push(pinStatusView(m, pin, opts.cancelling, handlers));

  return h(
    "section",
    {
      id: "identify",
      class: "panel identify",
      "aria-labelledby": "identify-title",
      "data-situation": situation.kind,
      "data-from-card": form.fromCard ? "true" : "false",
    },
    h("h2", { id: "identify-title", tabindex: "-1" }, icon("card"), t.title),
    ...body,
  );
}

/** #pin-status (data-state waiting|verified|failed), absent while no PIN was asked. */
function pinStatusView(m: Messages, pin: PinStep, cancelling: boolean, handlers: IdentifyHandlers): HTMLElement | null {
  const t = m.clerk.identify;
  const state = pinStatusState(pin);
  if (state === null) return null;
  const attrs = {
    id: "pin-status",
    class: `pin-status pin-${state}`,
    "data-state": state,
    role: state === "failed" ? "alert" : "status",
  };
  const cancelButton = (): HTMLElement =>
    h(
      "button",
      {
        id: "pin-cancel-clerk",
        type: "button",
        class: "secondary small",
        disabled: cancelling,
        onclick: () => handlers.onCancelPin(),
      },
      t.pinCancel,
    );
  switch (pin.status) {
    case "requesting":
    case "waiting":
      return h(
        "div",
        attrs,
        icon("clock"),
        h("span", { class: "pin-text" }, pin.status === "requesting" ? t.requesting : t.pinWaiting),
        cancelButton(),
      );
    case "verified":
      return h("div", attrs, icon("check"), h("span", { class: "pin-text" }, t.pinVerified));
    case "failed":
      return h(
        "div",
        { ...attrs, "data-code": pin.code },
        icon("warning"),
        h(
          "span",
          { class: "pin-text" },
          pin.code === "PIN-001" && pin.triesLeft !== null
            ? pinFailureText(m, "clerk", pin.code, pin.triesLeft)
            : fmt(t.pinFailed, { error: pinFailureText(m, "clerk", pin.code, pin.triesLeft) }),
          pin.open ? ` ${t.pinRetryOnCounter}` : "",
        ),
        pin.open ? cancelButton() : null,
      );
    case "idle":
      return null;
  }
}

/** #pin-badge, next to the identity fields: present only while the proof holds. */
export function pinBadge(m: Messages, pin: PinStep, form: AltaFormDto): HTMLElement | null {
  if (!pinProven(pin, form)) return null;
  return h(
    "p",
    { id: "pin-badge", class: "pin-badge", "data-proven": "true" },
    icon("check"),
    h("span", {}, m.clerk.identify.pinVerified),
  );
}

export type TrainingState = {
  cards: TrainingCardDto[] | null;
  busy: boolean;
  error: CommandError | null;
};

export type TrainingHandlers = {
  onInsert(id: string): void;
  onRemove(): void;
};

/** #training-panel: the virtual cards a trainee can insert and remove (training mode only). */
export function trainingPanel(m: Messages, training: TrainingState, handlers: TrainingHandlers): HTMLElement {
  const t = m.clerk.training;
  const cards = training.cards;
  return h(
    "section",
    { id: "training-panel", class: "training-panel", "aria-labelledby": "training-panel-title", "aria-busy": training.busy ? "true" : "false" },
    h(
      "h2",
      { id: "training-panel-title" },
      h("span", { class: "training-badge" }, icon("warning"), m.common.training),
      h("span", {}, t.title),
    ),
    h("p", { class: "training-body" }, t.body),
    cards === null
      ? h("p", { class: "muted" }, t.loading)
      : cards.length === 0
        ? h("p", { class: "muted" }, t.none)
        : h(
            "ul",
            { class: "training-cards" },
            cards.map((card) => {
              const label = trainingCardLabel(m, card);
              return h(
                "li",
                { "data-card": card.id },
                h("span", { class: "training-label" }, label),
                h(
                  "button",
                  {
                    id: `training-insert-${card.id}`,
                    type: "button",
                    class: "secondary small",
                    "aria-label": fmt(t.insertLabel, { label }),
                    disabled: training.busy,
                    onclick: () => handlers.onInsert(card.id),
                  },
                  t.insert,
                ),
              );
            }),
          ),
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          id: "training-remove",
          type: "button",
          class: "secondary small",
          disabled: training.busy,
          onclick: () => handlers.onRemove(),
        },
        t.remove,
      ),
    ),
    training.error !== null
      ? h(
          "p",
          { id: "training-error", class: "alert", role: "alert", "data-code": training.error.code },
          icon("warning"),
          fmt(t.failed, { error: commandErrorText(m, training.error) }),
        )
      : null,
  );
}
