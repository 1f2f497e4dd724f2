"""The ambulance crew's tablet app at /crew/: an installable, offline-first web app (web app
manifest + service worker caching the app shell) that writes every entry first to an
IndexedDB outbox and syncs it, in order, through the tablet API
(services/ingest/tablet_routes.py) with its expected-version protocol."""
