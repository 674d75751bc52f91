// Administration: residents, people, assignments, emergency contacts, hubs and sensors, robots. Each form checks its
// fields first and shows the server's refusal in words; device credentials are shown once.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { messageOf, type DashboardController } from "../controller";
import { t, textOr, type MessageKey } from "../i18n";
import { ADMIN_TABS, type AdminTab } from "../router";
import type { DashboardState } from "../state/store";
import type {
  EmergencyContact,
  EmergencyContactIn,
  Home,
  Language,
  MqttCredentials,
  Robot,
  UserAdmin,
} from "../types";
import { FormMessage, readFields, useSubmit } from "./forms";

/** A role in the page's language. */
function roleLabel(role: string): string {
  return textOr(`role.${role}`, role);
}

interface Props {
  controller: DashboardController;
  state: DashboardState;
  tab: AdminTab;
}

/** The first empty required field's message, or null. */
export function missingField(
  fields: Record<string, string>,
  labels: Record<string, MessageKey>,
): string | null {
  for (const [name, value] of Object.entries(fields)) {
    const label = labels[name];
    if (label !== undefined && value.trim() === "") return t("admin.required", { field: t(label) });
  }
  return null;
}

/** What a submitted admin form asks for: the first problem with its fields in words, or its request. */
type Request = string | (() => Promise<unknown>);

/** An admin form: it states its fields (children) and its request; `action` is its heading and its button. */
function AdminForm({
  action,
  secondary = false,
  blocked = false,
  request,
  done,
  children,
}: {
  action: MessageKey;
  secondary?: boolean;
  blocked?: boolean;
  request: (fields: Record<string, string>) => Request;
  done?: (form: HTMLFormElement) => void;
  children: ComponentChildren;
}) {
  const form = useSubmit("admin.created");
  return (
    <form
      class="admin-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const el = e.currentTarget as HTMLFormElement;
        const asked = request(readFields(el));
        if (typeof asked === "string") form.refuse(asked);
        else void form.send(asked, () => done?.(el));
      }}
    >
      <h3>{t(action)}</h3>
      {children}
      <FormMessage outcome={form.outcome} />
      <button class={secondary ? "button" : "button button--primary"} disabled={form.busy || blocked}>
        {t(action)}
      </button>
    </form>
  );
}

function Credentials({ mqtt }: { mqtt: MqttCredentials }) {
  return (
    <div class="credentials" role="status" data-testid="credentials">
      <p>
        <strong>{t("admin.credentialsOnce")}</strong>
      </p>
      <dl>
        <dt>{t("admin.username")}</dt>
        <dd>
          <code>{mqtt.username}</code>
        </dd>
        <dt>{t("admin.mqttPassword")}</dt>
        <dd>
          <code>{mqtt.password}</code>
        </dd>
        <dt>{t("admin.topicRoot")}</dt>
        <dd>
          <code>{mqtt.topic_root}</code>
        </dd>
      </dl>
    </div>
  );
}

function ResidentsTab({ controller, state }: { controller: DashboardController; state: DashboardState }) {
  return (
    <>
      <ul class="admin-list">
        {state.residents.map((r) => (
          <li key={r.id}>
            <a href={`#/residents/${r.id}`}>{r.full_name}</a> <span class="hint">{r.timezone ?? "—"}</span>
          </li>
        ))}
      </ul>
      <AdminForm
        action="admin.add"
        request={(f) =>
          missingField(f, {
            full_name: "admin.name",
            label: "admin.homeLabel",
            timezone: "admin.timezone",
          }) ??
          (() =>
            controller.api.createResident({
              full_name: f.full_name!.trim(),
              home: { label: f.label!.trim(), timezone: f.timezone!.trim() },
            }))
        }
        done={(el) => {
          el.reset();
          void controller.reload();
        }}
      >
        <label for="res-name">{t("admin.name")}</label>
        <input id="res-name" name="full_name" required />
        <label for="res-home">{t("admin.homeLabel")}</label>
        <input id="res-home" name="label" required />
        <label for="res-tz">{t("admin.timezone")}</label>
        <input id="res-tz" name="timezone" required value="Asia/Seoul" />
      </AdminForm>
    </>
  );
}

/** The first problem with a new account's fields (a required one empty, an e-mail without @), or null. */
function accountProblem(fields: Record<string, string>): string | null {
  return (
    missingField(fields, { full_name: "admin.name", email: "admin.email", password: "admin.password" }) ??
    (/^[^@\s]+@[^@\s]+$/.test(fields.email!.trim()) ? null : t("admin.required", { field: t("admin.email") }))
  );
}

function UsersTab({
  controller,
  users,
  reload,
}: {
  controller: DashboardController;
  users: UserAdmin[];
  reload: () => void;
}) {
  return (
    <>
      <table class="admin-table">
        <thead>
          <tr>
            <th scope="col">{t("admin.name")}</th>
            <th scope="col">{t("admin.email")}</th>
            <th scope="col">{t("admin.role")}</th>
            <th scope="col">{t("admin.active")}</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <td>
                {u.full_name}
                {u.is_charge_nurse ? ` (${t("admin.chargeNurse")})` : ""}
              </td>
              <td>{u.email}</td>
              <td>{roleLabel(u.role)}</td>
              <td>{u.is_active ? "✓" : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <AdminForm
        action="admin.add"
        request={(f) =>
          accountProblem(f) ??
          (() =>
            controller.api.createUser({
              full_name: f.full_name!.trim(),
              email: f.email!.trim(),
              role: f.role ?? "staff",
              password: f.password!,
              is_charge_nurse: f.charge === "on",
            }))
        }
        done={(el) => {
          el.reset();
          reload();
        }}
      >
        <label for="user-name">{t("admin.name")}</label>
        <input id="user-name" name="full_name" required />
        <label for="user-email">{t("admin.email")}</label>
        <input id="user-email" name="email" type="email" required />
        <label for="user-role">{t("admin.role")}</label>
        <select id="user-role" name="role">
          <option value="staff">{t("role.staff")}</option>
          <option value="guardian">{t("role.guardian")}</option>
          <option value="admin">{t("role.admin")}</option>
        </select>
        <label for="user-password">{t("admin.password")}</label>
        <input id="user-password" name="password" type="password" autocomplete="new-password" required />
        <label class="check">
          <input type="checkbox" name="charge" /> {t("admin.chargeNurse")}
        </label>
      </AdminForm>
    </>
  );
}

function AssignmentsTab({
  controller,
  state,
  users,
  reload,
}: {
  controller: DashboardController;
  state: DashboardState;
  users: UserAdmin[];
  reload: () => void;
}) {
  const names = new Map(state.residents.map((r) => [r.id, r.full_name]));
  const people = users.filter((u) => u.role !== "admin");
  return (
    <>
      <ul class="admin-list">
        {people.map((u) => (
          <li key={u.id}>
            <strong>{u.full_name}</strong> ({roleLabel(u.role)}):{" "}
            {u.resident_ids.map((id) => names.get(id) ?? `#${id}`).join(", ") || "—"}
          </li>
        ))}
      </ul>
      <AdminForm
        action="admin.assign"
        request={(f) => {
          const user = people.find((u) => String(u.id) === f.user);
          return (
            missingField(f, { user: "admin.user", resident: "admin.resident" }) ??
            (() =>
              user?.role === "guardian"
                ? controller.api.linkGuardian(user.id, Number(f.resident), f.relation?.trim() || "family")
                : controller.api.assign(Number(f.user), Number(f.resident), true))
          );
        }}
        done={reload}
      >
        <label for="as-user">{t("admin.user")}</label>
        <select id="as-user" name="user">
          <option value="">—</option>
          {people.map((u) => (
            <option key={u.id} value={u.id}>
              {u.full_name} ({roleLabel(u.role)})
            </option>
          ))}
        </select>
        <label for="as-res">{t("admin.resident")}</label>
        <select id="as-res" name="resident">
          <option value="">—</option>
          {state.residents.map((r) => (
            <option key={r.id} value={r.id}>
              {r.full_name}
            </option>
          ))}
        </select>
        <label for="as-rel">{t("admin.relation")}</label>
        <input id="as-rel" name="relation" placeholder={t("admin.relationExample")} />
      </AdminForm>
    </>
  );
}

/** The contact's fields as the API wants them, or the first problem in the page's language. */
export function readContact(
  fields: Record<string, string>,
): { problem: string; body?: undefined } | { problem?: undefined; body: EmergencyContactIn } {
  const missing = missingField(fields, { resident: "admin.resident", full_name: "admin.name" });
  if (missing) return { problem: missing };
  const phone = (fields.phone ?? "").trim();
  const email = (fields.email ?? "").trim();
  if (phone === "" && email === "") return { problem: t("admin.contactReach") };
  if (phone !== "" && !/^\+?[0-9 ()-]{5,32}$/.test(phone)) return { problem: t("admin.contactPhoneBad") };
  if (email !== "" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    return { problem: t("admin.required", { field: t("admin.email") }) };
  }
  const priority = Number(fields.priority ?? "1");
  const language: Language = fields.language === "ko" ? "ko" : "en";
  return {
    body: {
      full_name: fields.full_name!.trim(),
      relation: (fields.relation ?? "").trim(),
      phone: phone || null,
      email: email || null,
      priority: Number.isInteger(priority) && priority >= 1 && priority <= 9 ? priority : 1,
      language,
    },
  };
}

/** A language's name in the page's language ("Korean", "한국어"). */
function languageName(language: string): string {
  return textOr(`language.${language}`, language);
}

export function ContactsTab({
  controller,
  state,
}: {
  controller: DashboardController;
  state: DashboardState;
}) {
  const [resident, setResident] = useState<number | null>(state.residents[0]?.id ?? null);
  const [contacts, setContacts] = useState<EmergencyContact[]>([]);
  const [listError, setListError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    if (resident === null) return;
    controller.api
      .emergencyContacts(resident)
      .then((rows) => {
        setContacts(rows);
        setListError(null);
      })
      .catch((e) => setListError(messageOf(e)));
  }, [controller, resident, reloads]);

  async function remove(contact: EmergencyContact) {
    try {
      await controller.api.deleteEmergencyContact(contact.resident_id, contact.id);
      setReloads((n) => n + 1);
    } catch (e) {
      setListError(messageOf(e));
    }
  }

  return (
    <>
      <label for="ct-res">{t("admin.resident")}</label>
      <select
        id="ct-res"
        value={resident ?? ""}
        onChange={(e) => {
          const value = (e.currentTarget as HTMLSelectElement).value;
          setResident(value === "" ? null : Number(value));
        }}
      >
        {state.residents.map((r) => (
          <option key={r.id} value={r.id}>
            {r.full_name}
          </option>
        ))}
      </select>
      {listError && (
        <p class="message message--error" role="alert">
          {listError}
        </p>
      )}
      <ul class="admin-list" aria-label={t("admin.contacts")}>
        {contacts.length === 0 && <li>{t("admin.contactsNone")}</li>}
        {contacts.map((c) => (
          <li key={c.id} data-contact-id={c.id}>
            <strong>{c.full_name}</strong>
            {c.relation ? ` (${c.relation})` : ""} · {[c.phone, c.email].filter(Boolean).join(" · ")} ·{" "}
            {t("admin.contactPriorityOf", { priority: c.priority })} · {languageName(c.language)}{" "}
            <button type="button" class="button button--quiet" onClick={() => void remove(c)}>
              {t("admin.remove")}
            </button>
          </li>
        ))}
      </ul>
      <AdminForm
        action="admin.addContact"
        blocked={resident === null}
        request={(f) => {
          const contact = readContact({ ...f, resident: resident === null ? "" : String(resident) });
          return contact.problem ?? (() => controller.api.addEmergencyContact(resident!, contact.body!));
        }}
        done={(el) => {
          el.reset();
          setReloads((n) => n + 1);
        }}
      >
        <label for="ct-name">{t("admin.name")}</label>
        <input id="ct-name" name="full_name" required />
        <label for="ct-rel">{t("admin.relation")}</label>
        <input id="ct-rel" name="relation" placeholder={t("admin.contactRelationExample")} />
        <label for="ct-phone">{t("admin.phone")}</label>
        <input id="ct-phone" name="phone" type="tel" autocomplete="off" />
        <label for="ct-email">{t("admin.email")}</label>
        <input id="ct-email" name="email" type="email" autocomplete="off" />
        <label for="ct-prio">{t("admin.contactPriority")}</label>
        <select id="ct-prio" name="priority">
          {[1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        <label for="ct-lang">{t("admin.contactLanguage")}</label>
        <select id="ct-lang" name="language">
          <option value="en">{languageName("en")}</option>
          <option value="ko">{languageName("ko")}</option>
        </select>
      </AdminForm>
    </>
  );
}

function HomeSelect({ homes, id }: { homes: Home[]; id: string }) {
  return (
    <select id={id} name="home">
      <option value="">—</option>
      {homes.map((h) => (
        <option key={h.id} value={h.id}>
          {h.label}
        </option>
      ))}
    </select>
  );
}

function DevicesTab({ controller, homes }: { controller: DashboardController; homes: Home[] }) {
  const [mqtt, setMqtt] = useState<MqttCredentials | null>(null);
  return (
    <>
      <AdminForm
        action="admin.provisionHub"
        request={(f) => {
          setMqtt(null);
          return (
            missingField(f, { home: "admin.home" }) ??
            (async () =>
              setMqtt((await controller.api.provisionHub(Number(f.home), f.serial?.trim() || null)).mqtt))
          );
        }}
      >
        <label for="hub-home">{t("admin.home")}</label>
        <HomeSelect homes={homes} id="hub-home" />
        <label for="hub-serial">{t("admin.serial")}</label>
        <input id="hub-serial" name="serial" />
      </AdminForm>
      {mqtt && <Credentials mqtt={mqtt} />}
      <AdminForm
        action="admin.addSensor"
        secondary
        request={(f) =>
          missingField(f, { hub: "admin.hubId", key: "admin.sensorKey" }) ??
          (() => controller.api.addSensor(Number(f.hub), f.key!.trim(), f.kind ?? "motion", null))
        }
      >
        <label for="sen-hub">{t("admin.hubId")}</label>
        <input id="sen-hub" name="hub" type="number" min={1} />
        <label for="sen-key">{t("admin.sensorKey")}</label>
        <input id="sen-key" name="key" />
        <label for="sen-kind">{t("admin.sensorKind")}</label>
        <select id="sen-kind" name="kind">
          {[
            "motion",
            "door",
            "bed",
            "chair",
            "toilet",
            "power",
            "temperature",
            "smoke",
            "emergency_button",
            "fall_detector",
          ].map((k) => (
            <option key={k} value={k}>
              {textOr(`fmt.sensor.${k}`, k)}
            </option>
          ))}
        </select>
      </AdminForm>
    </>
  );
}

function RobotsTab({ controller, homes }: { controller: DashboardController; homes: Home[] }) {
  const [mqtt, setMqtt] = useState<MqttCredentials | null>(null);
  const [robots, setRobots] = useState<Robot[]>([]);
  useEffect(() => {
    void Promise.all(homes.map((h) => controller.api.robots(h.id).catch(() => []))).then((lists) =>
      setRobots(lists.flat()),
    );
  }, [controller, homes, mqtt]);
  return (
    <>
      <ul class="admin-list">
        {robots.map((r) => (
          <li key={r.id}>
            {r.model} <code>{r.serial}</code>: {r.state ? textOr(`robot.status.${r.state}`, r.state) : "—"}
            {r.battery_pct !== null ? ` · ${Math.round(r.battery_pct)}%` : ""}
          </li>
        ))}
      </ul>
      <AdminForm
        action="admin.provisionRobot"
        request={(f) => {
          setMqtt(null);
          return (
            missingField(f, { home: "admin.home", model: "admin.model" }) ??
            (async () =>
              setMqtt(
                (
                  await controller.api.provisionRobot(
                    Number(f.home),
                    f.serial?.trim() || null,
                    f.model!.trim(),
                  )
                ).mqtt,
              ))
          );
        }}
      >
        <label for="rob-home">{t("admin.home")}</label>
        <HomeSelect homes={homes} id="rob-home" />
        <label for="rob-serial">{t("admin.serial")}</label>
        <input id="rob-serial" name="serial" />
        <label for="rob-model">{t("admin.model")}</label>
        <input id="rob-model" name="model" value="sst-bot" />
      </AdminForm>
      {mqtt && <Credentials mqtt={mqtt} />}
    </>
  );
}

const TAB_LABEL: Record<AdminTab, MessageKey> = {
  residents: "admin.residents",
  users: "admin.users",
  assignments: "admin.assignments",
  contacts: "admin.contacts",
  devices: "admin.devices",
  robots: "admin.robots",
};

export function AdminView({ controller, state, tab }: Props) {
  const [users, setUsers] = useState<UserAdmin[]>([]);
  const [homes, setHomes] = useState<Home[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const isAdmin = state.session?.user.role === "admin";

  useEffect(() => {
    if (!isAdmin) return;
    Promise.all([controller.api.users(), controller.api.homes()])
      .then(([u, h]) => {
        setUsers(u);
        setHomes(h);
        setError(null);
      })
      .catch((e) => setError(messageOf(e)));
  }, [controller, isAdmin, reloads]);

  if (!isAdmin) {
    return (
      <main class="staff__main staff__main--single">
        <p class="message message--error" role="alert">
          {t("admin.forbidden")}
        </p>
      </main>
    );
  }
  const reload = () => setReloads(reloads + 1);
  return (
    <main class="admin" aria-labelledby="admin-title">
      <h1 id="admin-title">{t("admin.title")}</h1>
      <nav class="tabs" aria-label={t("admin.title")}>
        {ADMIN_TABS.map((name) => (
          <a
            key={name}
            href={`#/admin/${name}`}
            aria-current={name === tab ? "page" : undefined}
            class="tabs__tab"
          >
            {t(TAB_LABEL[name])}
          </a>
        ))}
      </nav>
      {error && (
        <p class="message message--error" role="alert">
          {error}
        </p>
      )}
      <section class="panel">
        <h2>{t(TAB_LABEL[tab])}</h2>
        {tab === "residents" && <ResidentsTab controller={controller} state={state} />}
        {tab === "users" && <UsersTab controller={controller} users={users} reload={reload} />}
        {tab === "assignments" && (
          <AssignmentsTab controller={controller} state={state} users={users} reload={reload} />
        )}
        {tab === "contacts" && <ContactsTab controller={controller} state={state} />}
        {tab === "devices" && <DevicesTab controller={controller} homes={homes} />}
        {tab === "robots" && <RobotsTab controller={controller} homes={homes} />}
      </section>
    </main>
  );
}
