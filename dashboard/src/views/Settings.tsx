// Per-resident rule thresholds and escalation policy; the server decides who may change them
// (admins and charge nurses) and its refusal is shown in words.
import { useState } from "preact/hooks";
import type { DashboardController } from "../controller";
import { t, textOr } from "../i18n";
import type { EscalationTarget, Policy, PolicyStep, Threshold } from "../types";
import { FormMessage, useSubmit, type Submit } from "./forms";

const TARGETS: readonly EscalationTarget[] = [
  "assigned_staff",
  "staff_on_duty",
  "guardians",
  "emergency_contact",
];

interface Range {
  minimum: number;
  maximum: number;
  default: number;
}

/** A parameter value typed in a field: a number inside its range, or the message saying why not. */
export function checkParam(name: string, text: string, range: Range | undefined): number | string {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(value))
    return `${name}: ${t("admin.required", { field: name })}`;
  if (range && (value < range.minimum || value > range.maximum))
    return `${name}: ${range.minimum} – ${range.maximum}`;
  return value;
}

/** The outcome of a setting's last save, then its Save button for those who may edit. */
function SaveOutcome({ form, canEdit }: { form: Submit; canEdit: boolean }) {
  return (
    <>
      <FormMessage outcome={form.outcome} />
      {canEdit && (
        <button type="submit" class="button" disabled={form.busy}>
          {t("resident.save")}
        </button>
      )}
    </>
  );
}

function ThresholdRow({
  controller,
  residentId,
  threshold,
  canEdit,
}: {
  controller: DashboardController;
  residentId: number;
  threshold: Threshold;
  canEdit: boolean;
}) {
  const [values, setValues] = useState<Record<string, string>>(
    Object.fromEntries(Object.entries(threshold.effective).map(([k, v]) => [k, String(v)])),
  );
  const form = useSubmit("resident.saved");
  const ranges = threshold.parameters as Record<string, Range>;

  async function save(event: Event) {
    event.preventDefault();
    const params: Record<string, number> = {};
    for (const [name, text] of Object.entries(values)) {
      const checked = checkParam(name, text, ranges[name]);
      if (typeof checked === "string") return form.refuse(checked);
      params[name] = checked;
    }
    await form.send(() => controller.api.setThreshold(residentId, threshold.rule, params));
  }

  return (
    <form class="setting" onSubmit={save} noValidate>
      <h3>{textOr(`rule.${threshold.rule}.name`, threshold.rule.replace(/_/g, " "))}</h3>
      <p class="hint">{textOr(`rule.${threshold.rule}.description`, threshold.description)}</p>
      {Object.keys(values).map((name) => {
        const id = `th-${threshold.rule}-${name}`;
        const range = ranges[name];
        return (
          <div class="field" key={name}>
            <label for={id}>
              {textOr(`param.${name}`, name.replace(/_/g, " "))}
              {range ? ` (${range.minimum}–${range.maximum})` : ""}
            </label>
            <input
              id={id}
              type="number"
              inputMode="decimal"
              value={values[name]}
              disabled={!canEdit}
              min={range?.minimum}
              max={range?.maximum}
              onInput={(e) => setValues({ ...values, [name]: (e.currentTarget as HTMLInputElement).value })}
            />
          </div>
        );
      })}
      <SaveOutcome form={form} canEdit={canEdit} />
    </form>
  );
}

export function ThresholdEditor(props: {
  controller: DashboardController;
  residentId: number;
  thresholds: Threshold[];
  canEdit: boolean;
}) {
  return (
    <div class="settings">
      {props.thresholds.map((threshold) => (
        <ThresholdRow key={threshold.rule} {...props} threshold={threshold} />
      ))}
      {!props.canEdit && <p class="hint">{t("resident.readOnly")}</p>}
    </div>
  );
}

function PolicyRow({
  controller,
  residentId,
  policy,
  canEdit,
}: {
  controller: DashboardController;
  residentId: number;
  policy: Policy;
  canEdit: boolean;
}) {
  const [steps, setSteps] = useState<{ target: EscalationTarget; minutes: string }[]>(
    policy.steps.map((s) => ({ target: s.target, minutes: String(Math.round(s.delay_s / 60)) })),
  );
  const [reminder, setReminder] = useState(
    policy.reminder_interval_s ? String(Math.round(policy.reminder_interval_s / 60)) : "",
  );
  const form = useSubmit("resident.saved");

  async function save(event: Event) {
    event.preventDefault();
    const out: PolicyStep[] = [];
    for (const [index, step] of steps.entries()) {
      const minutes = Number(step.minutes);
      if (step.minutes.trim() === "" || !Number.isFinite(minutes) || minutes < 0) {
        return form.refuse(`${t("policy.step", { n: index + 1 })}: ${t("policy.delay")}`);
      }
      out.push({ target: step.target, delay_s: Math.round(minutes * 60) });
    }
    const reminderMinutes = reminder.trim() === "" ? null : Number(reminder);
    if (reminderMinutes !== null && (!Number.isFinite(reminderMinutes) || reminderMinutes <= 0)) {
      return form.refuse(t("policy.reminder"));
    }
    await form.send(() =>
      controller.api.setResidentPolicy(
        residentId,
        policy.severity,
        out,
        reminderMinutes === null ? null : Math.round(reminderMinutes * 60),
      ),
    );
  }

  const prefix = `pol-${policy.severity}`;
  return (
    <form class="setting" onSubmit={save} noValidate data-testid={prefix}>
      <h3>
        <span class={`badge badge--${policy.severity}`}>{t(`severity.${policy.severity}`)}</span>{" "}
        <span class="hint">{t("policy.source", { source: policy.source })}</span>
      </h3>
      <ol class="policy-steps">
        {steps.map((step, index) => (
          <li key={index}>
            <label for={`${prefix}-t${index}`} class="visually-hidden">
              {t("policy.step", { n: index + 1 })} {t("policy.target")}
            </label>
            <select
              id={`${prefix}-t${index}`}
              value={step.target}
              disabled={!canEdit}
              onChange={(e) =>
                setSteps(
                  steps.map((s, i) =>
                    i === index
                      ? { ...s, target: (e.currentTarget as HTMLSelectElement).value as EscalationTarget }
                      : s,
                  ),
                )
              }
            >
              {TARGETS.map((target) => (
                <option key={target} value={target}>
                  {t(`target.${target}`)}
                </option>
              ))}
            </select>{" "}
            <label for={`${prefix}-d${index}`}>{t("policy.delay")}</label>{" "}
            <input
              id={`${prefix}-d${index}`}
              class="input--short"
              type="number"
              min={0}
              value={step.minutes}
              disabled={!canEdit}
              onInput={(e) =>
                setSteps(
                  steps.map((s, i) =>
                    i === index ? { ...s, minutes: (e.currentTarget as HTMLInputElement).value } : s,
                  ),
                )
              }
            />
          </li>
        ))}
      </ol>
      <div class="field">
        <label for={`${prefix}-rem`}>{t("policy.reminder")}</label>
        <input
          id={`${prefix}-rem`}
          class="input--short"
          type="number"
          min={1}
          value={reminder}
          disabled={!canEdit}
          onInput={(e) => setReminder((e.currentTarget as HTMLInputElement).value)}
        />
      </div>
      <SaveOutcome form={form} canEdit={canEdit} />
    </form>
  );
}

export function PolicyEditor(props: {
  controller: DashboardController;
  residentId: number;
  policies: Policy[];
  canEdit: boolean;
}) {
  return (
    <div class="settings">
      {props.policies.map((policy) => (
        <PolicyRow key={policy.severity} {...props} policy={policy} />
      ))}
    </div>
  );
}
