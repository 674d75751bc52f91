import { describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError } from "../src/api";
import { json, makeAlert, makeLogin } from "./fixtures";

interface Call {
  url: string;
  init: RequestInit;
}

function clientWith(respond: (call: Call) => Response | Promise<Response>, token: string | null = "tok") {
  const calls: Call[] = [];
  const onUnauthorized = vi.fn();
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const call = { url: String(input), init: init ?? {} };
    calls.push(call);
    return respond(call);
  }) as typeof fetch;
  const client = new ApiClient({ fetch: fetchImpl, getToken: () => token, onUnauthorized });
  return { client, calls, onUnauthorized };
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("expected the call to fail");
}

describe("ApiClient", () => {
  it("logs in with a JSON body and no bearer token", async () => {
    const { client, calls } = clientWith(() => json(200, makeLogin()));
    const login = await client.login("carer@example.org", "secret");
    expect(login.access_token).toBe("token-1");
    expect(calls[0]?.url).toBe("/api/v1/auth/login");
    expect(calls[0]?.init.method).toBe("POST");
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({
      email: "carer@example.org",
      password: "secret",
    });
    expect(new Headers(calls[0]?.init.headers).get("Authorization")).toBeNull();
  });

  it("sends the bearer token on authenticated calls", async () => {
    const { client, calls } = clientWith(() => json(200, []));
    await client.residents();
    expect(new Headers(calls[0]?.init.headers).get("Authorization")).toBe("Bearer tok");
  });

  it("repeats the state parameter for each requested state", async () => {
    const { client, calls } = clientWith(() => json(200, []));
    await client.alerts(["open", "acknowledged"]);
    await client.alerts();
    expect(calls[0]?.url).toBe("/api/v1/alerts?state=open&state=acknowledged");
    expect(calls[1]?.url).toBe("/api/v1/alerts");
  });

  it("posts the resolution note", async () => {
    const alert = makeAlert({ id: 42, state: "resolved" });
    const { client, calls } = clientWith(() => json(200, alert));
    expect(await client.resolve(42, "Visited, all well")).toEqual(alert);
    expect(calls[0]?.url).toBe("/api/v1/alerts/42/resolve");
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({ note: "Visited, all well" });
  });

  it("uses the server's error message for a wrong password and does not treat it as a lost session", async () => {
    const { client, onUnauthorized } = clientWith(() =>
      json(401, { error: { code: "invalid_credentials", message: "Email or password is wrong." } }),
    );
    const error = await failure(client.login("a@b.c", "nope"));
    expect(error.status).toBe(401);
    expect(error.code).toBe("invalid_credentials");
    expect(error.message).toBe("Email or password is wrong.");
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it("reports a 401 on an authenticated call as a lost session", async () => {
    const { client, onUnauthorized } = clientWith(() =>
      json(401, { error: { code: "token_expired", message: "Token expired." } }),
    );
    const error = await failure(client.me());
    expect(error.isUnauthorized).toBe(true);
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it("keeps the error details", async () => {
    const details = { note: "must not be empty" };
    const { client } = clientWith(() =>
      json(422, { error: { code: "validation_error", message: "The note is required.", details } }),
    );
    const error = await failure(client.resolve(1, ""));
    expect(error.code).toBe("validation_error");
    expect(error.details).toEqual(details);
  });

  it("gives a readable message when a proxy answers with HTML", async () => {
    const { client } = clientWith(() => new Response("<html>Bad Gateway</html>", { status: 502 }));
    const error = await failure(client.residents());
    expect(error.status).toBe(502);
    expect(error.code).toBe("http_502");
    expect(error.message).toMatch(/server had a problem/);
  });

  it("does not trust a JSON body of the wrong shape", async () => {
    const { client } = clientWith(() => json(409, { detail: "conflict" }));
    const error = await failure(client.acknowledge(3));
    expect(error.code).toBe("http_409");
    expect(error.message).toMatch(/changed this in the meantime/);
  });

  it("turns a network failure into status 0", async () => {
    const { client } = clientWith(() => {
      throw new TypeError("Failed to fetch");
    });
    const error = await failure(client.residents());
    expect(error.status).toBe(0);
    expect(error.code).toBe("network_error");
  });

  it("reports an unreadable success body", async () => {
    const { client } = clientWith(() => new Response("not json", { status: 200 }));
    const error = await failure(client.me());
    expect(error.code).toBe("bad_response");
  });
});
