// @vitest-environment happy-dom
// The admin's emergency contacts: listed per resident, added with the language their messages
// are written in, checked in the page before anything is sent.
import { render } from "preact";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiClient } from "../src/api";
import type { DashboardController } from "../src/controller";
import { setLocale } from "../src/i18n";
import { initialState } from "../src/state/store";
import type { EmergencyContact } from "../src/types";
import { ContactsTab, readContact } from "../src/views/AdminView";
import { json, makeResident } from "./fixtures";

class ContactsBackend {
  contacts: EmergencyContact[] = [
    {
      id: 1,
      resident_id: 1,
      full_name: "Lee Min-jun",
      relation: "neighbour",
      phone: "+82 10 1234 5678",
      email: null,
      priority: 1,
      language: "ko",
    },
  ];
  posted: unknown[] = [];

  fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? "GET";
    const list = /^\/api\/v1\/residents\/(\d+)\/emergency-contacts$/.exec(url);
    if (list && method === "GET") {
      return json(
        200,
        this.contacts.filter((c) => c.resident_id === Number(list[1])),
      );
    }
    if (list && method === "POST") {
      const body = JSON.parse(String(init?.body)) as Omit<EmergencyContact, "id" | "resident_id">;
      this.posted.push(body);
      if (body.email === "taken@example.org") {
        return json(422, { error: { code: "validation_error", message: "email: not a valid address" } });
      }
      const created = { ...body, id: this.contacts.length + 1, resident_id: Number(list[1]) };
      this.contacts.push(created);
      return json(201, created);
    }
    return json(404, { error: { code: "not_found", message: "Not found." } });
  }) as typeof fetch;
}

let backend: ContactsBackend;
let root: HTMLElement;

beforeEach(() => {
  backend = new ContactsBackend();
  const api = new ApiClient({ fetch: backend.fetch, getToken: () => "token-1" });
  const controller = { api } as unknown as DashboardController;
  const state = { ...initialState(), residents: [makeResident({ id: 1, full_name: "Kim Young-ja" })] };
  root = document.createElement("div");
  document.body.append(root);
  render(<ContactsTab controller={controller} state={state} />, root);
});

afterEach(() => {
  render(null, root);
  root.remove();
  setLocale("en");
});

async function waitFor<T>(find: () => T | null | undefined | false, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = find();
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function field<T extends HTMLInputElement | HTMLSelectElement>(id: string): T {
  return root.querySelector<T>(`#${id}`)!;
}

const items = () => [...root.querySelectorAll("[data-contact-id]")].map((li) => li.textContent ?? "");

describe("emergency contacts in the admin pages", () => {
  it("lists a resident's contacts with the language of their messages", async () => {
    await waitFor(() => items().length === 1, "the stored contact");
    expect(items()[0]).toContain("Lee Min-jun (neighbour) · +82 10 1234 5678 · priority 1 · Korean");
  });

  it("adds a contact whose messages are in Korean, as chosen in the form", async () => {
    await waitFor(() => items().length === 1, "the stored contact");
    const language = field<HTMLSelectElement>("ct-lang");
    expect([...language.options].map((o) => [o.value, o.textContent])).toEqual([
      ["en", "English"],
      ["ko", "Korean"],
    ]);
    expect(language.value).toBe("en"); // the server's default too
    field<HTMLInputElement>("ct-name").value = "Park Ji-hoon";
    field<HTMLInputElement>("ct-email").value = "jihoon@example.org";
    field<HTMLSelectElement>("ct-prio").value = "2";
    language.value = "ko";
    root.querySelector<HTMLButtonElement>(".admin-form button")!.click();
    await waitFor(() => items().length === 2, "the new contact listed");
    expect(backend.posted).toEqual([
      {
        full_name: "Park Ji-hoon",
        relation: "",
        phone: null,
        email: "jihoon@example.org",
        priority: 2,
        language: "ko",
      },
    ]);
    expect(items()[1]).toContain("Park Ji-hoon · jihoon@example.org · priority 2 · Korean");
    expect(field<HTMLSelectElement>("ct-lang").value).toBe("en"); // the form is empty again
  });

  it("refuses a contact nobody can reach before sending, and shows the server's refusal", async () => {
    await waitFor(() => items().length === 1, "the stored contact");
    field<HTMLInputElement>("ct-name").value = "Park Ji-hoon";
    root.querySelector<HTMLButtonElement>(".admin-form button")!.click();
    const refusal = await waitFor(() => root.querySelector(".admin-form [role=alert]"), "the refusal");
    expect(refusal.textContent).toBe("Please give a phone number or an email address.");
    expect(backend.posted).toEqual([]);
    field<HTMLInputElement>("ct-email").value = "taken@example.org";
    root.querySelector<HTMLButtonElement>(".admin-form button")!.click();
    await waitFor(
      () => root.querySelector(".admin-form [role=alert]")?.textContent === "email: not a valid address",
      "the server's words",
    );
  });

  it("checks the fields in the page's language", () => {
    setLocale("ko");
    expect(readContact({ resident: "1", full_name: "", phone: "" }).problem).toBe("입력하세요: 이름.");
    expect(readContact({ resident: "1", full_name: "박지훈", phone: "call me" }).problem).toBe(
      "전화번호는 숫자, 공백, +, ( ), - 만 쓸 수 있습니다.",
    );
    expect(
      readContact({ resident: "1", full_name: "박지훈", phone: "010-1234-5678", language: "ko" }).body,
    ).toEqual({
      full_name: "박지훈",
      relation: "",
      phone: "010-1234-5678",
      email: null,
      priority: 1,
      language: "ko",
    });
  });
});
