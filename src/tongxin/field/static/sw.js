// The field app's service worker: keeps the app shell so the app opens offline.
//
// Served from /field/sw.js, so its scope is /field/ and it controls nothing else. The
// server fills in the shell version (package version + a hash of the files) and the file
// list; a new version installs a new cache and drops the old one. Cache first for the shell;
// /api/ is never cached: events and the context go straight to the network, and the queue
// in IndexedDB keeps what could not be sent.

const VERSION = "__SHELL_VERSION__";
const CACHE = `tongxin-field-${VERSION}`;
const SHELL = ["__SHELL_FILES__"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith("tongxin-field-") && name !== CACHE)
            .map((name) => caches.delete(name))
        )
      )
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) return;
  if (!url.pathname.startsWith("/field/")) return;
  // The page is one shell whatever its query; the fragment (#token=…) never reaches here.
  const key = event.request.mode === "navigate" ? "/field/" : url.pathname;
  event.respondWith(
    caches.open(CACHE).then((cache) =>
      cache.match(key).then((hit) => hit || fetch(event.request))
    )
  );
});
