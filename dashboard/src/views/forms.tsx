// What the dashboard's forms do alike: a failed check or the server's refusal is shown in words, a success
// as a status, and the form is busy while its one request is on its way.
import { useState } from "preact/hooks";
import { messageOf } from "../controller";
import { t, type MessageKey } from "../i18n";

/** What a form's last submit came to, in words; null before the first. */
export type Outcome = { ok: boolean; text: string } | null;

/** A form's outcome and busy flag, with the two ways a submit ends. */
export interface Submit {
  outcome: Outcome;
  busy: boolean;
  /** Show why the form is not sent (a check on its fields failed). */
  refuse: (text: string) => void;
  /** Send the form's request while busy; on success say `success` (the hook's unless given) and
   * run `after`. A request that throws `Refused` ends with its words. */
  send: (request: () => Promise<unknown>, after?: () => void, success?: MessageKey) => Promise<void>;
}

/** Thrown by a request that stops half-way for a reason the user is told, in words. */
export class Refused extends Error {}

/** The outcome under a form: a status once done, an alert when refused. */
export function FormMessage({ outcome }: { outcome: Outcome }) {
  if (outcome === null) return null;
  return (
    <p
      class={`message ${outcome.ok ? "message--info" : "message--error"}`}
      role={outcome.ok ? "status" : "alert"}
    >
      {outcome.text}
    </p>
  );
}

/** A form's submit state; `success` is what a request that went through is called ("Saved."). */
export function useSubmit(success: MessageKey): Submit {
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [busy, setBusy] = useState(false);
  async function send(
    request: () => Promise<unknown>,
    after?: () => void,
    said: MessageKey = success,
  ): Promise<void> {
    setBusy(true);
    try {
      await request();
      setOutcome({ ok: true, text: t(said) });
      after?.();
    } catch (error) {
      setOutcome({ ok: false, text: error instanceof Refused ? error.message : messageOf(error) });
    } finally {
      setBusy(false);
    }
  }
  return { outcome, busy, refuse: (text) => setOutcome({ ok: false, text }), send };
}

/** A form's fields by name, as text. */
export function readFields(form: HTMLFormElement): Record<string, string> {
  return Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v)]));
}
