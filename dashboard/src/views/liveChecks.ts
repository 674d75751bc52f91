// One resident's "Today's checks", kept true while the page is open: read once, then changed in
// place by each `rule_check` event, and read again when a reconnection could not replay what was
// missed. Events that come while an answer is on its way are laid over it (it was read before).
import { useEffect, useRef, useState } from "preact/hooks";
import type { DashboardController } from "../controller";
import type { RuleCheckPayload } from "../events";
import { applyRuleCheck, LiveChecks } from "../state/ruleChecks";
import type { RuleChecks } from "../types";

/** The resident's checks: undefined while first read, null when they could not be read. */
export function useRuleChecks(
  controller: DashboardController,
  residentId: number,
): RuleChecks | null | undefined {
  const [checks, setChecks] = useState<RuleChecks | null | undefined>(undefined);
  const [reads, setReads] = useState(0);
  const live = useRef(new LiveChecks());

  // Listening starts before the first read is sent (effects run in order): nothing falls between.
  useEffect(() => {
    const listener = ({ kind, payload }: { kind: string; payload: unknown }) => {
      if (kind === "rule_check") {
        const check = payload as RuleCheckPayload;
        if (check.resident_id !== residentId) return;
        live.current.note(check);
        setChecks((held) => (held ? applyRuleCheck(held, check) : held));
      } else if (kind === "resync") {
        setReads((n) => n + 1);
      }
    };
    controller.liveListeners.add(listener);
    return () => void controller.liveListeners.delete(listener);
  }, [controller, residentId]);

  useEffect(() => {
    let current = true;
    controller.api
      .ruleChecks(residentId)
      .then((answer) => current && setChecks(live.current.over(answer)))
      // Old checks shown as if current could read "all is well" when SST cannot see: say so.
      .catch(() => current && setChecks(null));
    return () => {
      current = false;
    };
  }, [controller, residentId, reads]);

  return checks;
}
