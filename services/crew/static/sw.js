// The crew app's service worker: the app shell is cached at install, so the app opens and
// records with no network at all (entries wait in the IndexedDB outbox, see outbox.js).
// Shell requests go to the network first (a release reaches tablets that are online) and
// fall back to the cache; the tablet API is never touched here: its writes and answers
// belong to the outbox, and patient data is never cached.

const CACHE = "goldenhour-crew-v1";
const SHELL = [
  "/crew/",
  "/crew/manifest.webmanifest",
  "/crew/reference.json",
  "/crew/demo-ecg.json",
  "/crew/static/app.js",
  "/crew/static/outbox.js",
  "/crew/static/gb11643.js",
  "/crew/static/vitals.js",
  "/crew/static/crew.css",
  "/crew/static/icon.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const cached = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
    if (cached) return cached;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith("/crew/")) return; // the tablet API: straight to the network
  event.respondWith(networkFirst(event.request));
});
