// Sign-in form; shows the server's own error message.
import { useEffect, useRef, useState } from "preact/hooks";
import type { DashboardController } from "../controller";
import { t } from "../i18n";
import { PrefControls } from "./Topbar";

export function LoginView({
  controller,
  notice,
}: {
  controller: DashboardController;
  notice: string | null;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const emailRef = useRef<HTMLInputElement>(null);

  useEffect(() => emailRef.current?.focus(), []);

  async function onSubmit(event: Event) {
    event.preventDefault();
    if (busy) return;
    // Read the fields at submit time: autofill or a quick Enter may not have re-rendered yet.
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const email = String(form.get("email") ?? "").trim();
    const password = String(form.get("password") ?? "");
    if (email === "") return setError(t("login.needEmail"));
    if (password === "") return setError(t("login.needPassword"));
    setBusy(true);
    setError(null);
    const message = await controller.signIn(email, password);
    // On success this view is gone; only a failure needs its state updated.
    if (message !== null) {
      setError(message);
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <form class="login__card" onSubmit={onSubmit} aria-labelledby="login-title" noValidate>
        <h1 id="login-title">{t("app.title")}</h1>
        <p class="login__lead">{t("login.lead")}</p>
        {notice && error === null && (
          <p class="message message--info" role="status">
            {notice}
          </p>
        )}
        {error && (
          <p class="message message--error" role="alert" id="login-error">
            {error}
          </p>
        )}
        <label for="login-email">{t("login.email")}</label>
        <input
          id="login-email"
          ref={emailRef}
          type="email"
          name="email"
          autocomplete="username"
          required
          aria-describedby={error ? "login-error" : undefined}
        />
        <label for="login-password">{t("login.password")}</label>
        <input
          id="login-password"
          type="password"
          name="password"
          autocomplete="current-password"
          required
          aria-describedby={error ? "login-error" : undefined}
        />
        <button type="submit" class="button button--primary" disabled={busy}>
          {busy ? t("login.busy") : t("login.submit")}
        </button>
      </form>
      <PrefControls controller={controller} state={controller.store.get()} sound={false} />
    </main>
  );
}
