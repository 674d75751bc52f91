// Hash routes, so the backend serves one index.html and any address reloads to the same page.
export type Route =
  | { name: "overview" }
  | { name: "resident"; residentId: number }
  | { name: "admin"; tab: AdminTab }
  | { name: "notFound" };

export type AdminTab = "residents" | "users" | "assignments" | "contacts" | "devices" | "robots";
const ADMIN_TABS: readonly AdminTab[] = [
  "residents",
  "users",
  "assignments",
  "contacts",
  "devices",
  "robots",
];

/** The route of a location hash such as "#/residents/12". */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "").replace(/\/+$/, "") || "/";
  // "/" and in-page anchors (not routes) show the overview.
  if (path === "/" || !path.startsWith("/")) return { name: "overview" };
  const resident = /^\/residents\/(\d{1,9})$/.exec(path);
  if (resident) return { name: "resident", residentId: Number(resident[1]) };
  const admin = /^\/admin(?:\/(\w+))?$/.exec(path);
  if (admin) {
    const tab = (admin[1] ?? "residents") as AdminTab;
    return ADMIN_TABS.includes(tab) ? { name: "admin", tab } : { name: "notFound" };
  }
  return { name: "notFound" };
}

/** The hash of a route. */
export function routeHash(route: Route): string {
  switch (route.name) {
    case "overview":
      return "#/";
    case "resident":
      return `#/residents/${route.residentId}`;
    case "admin":
      return `#/admin/${route.tab}`;
    case "notFound":
      return "#/";
  }
}

export { ADMIN_TABS };
