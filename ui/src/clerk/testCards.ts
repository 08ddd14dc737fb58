// Fictitious DNIe identities for the clerk window's unit tests (not part of the app build:
// only test files import this).
import type { CardIdentityDto } from "../bindings";

/** A DNIe 3.0, read by the watcher as soon as it is inserted. */
export const ANA: CardIdentityDto = {
  document: "99999999R",
  givenName: "ANA",
  surnames: "ESPAÑOLA ESPAÑOLA",
  firstSurname: "ESPAÑOLA",
  secondSurname: "ESPAÑOLA",
  idesp: "BAA000589",
  certValidUntil: "2030-06-30",
  version: "3.0",
};

/** A DNIe 2.0: its identity arrives with `cardIdentified`, after the PIN. */
export const ANTIGUO: CardIdentityDto = {
  ...ANA,
  document: "12345678Z",
  givenName: "LUIS",
  surnames: "ANTIGUO ANTIGUO",
  firstSurname: "ANTIGUO",
  secondSurname: "ANTIGUO",
  idesp: "AAA111222",
  version: "2.0",
};
