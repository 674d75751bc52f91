// Service worker of the SST family view: shows Web Push messages (alerts, daily summaries).
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : "" };
  }
  const title = data.title || "SST";
  event.waitUntil(
    self.registration.showNotification(title, { body: data.body || "", tag: data.tag || "sst" }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow("/"));
});
