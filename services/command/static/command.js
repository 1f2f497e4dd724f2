// The command page: the live part is re-fetched every few seconds (a duty officer's
// screen, left open all night); a failed fetch keeps what is shown and marks it stale.
"use strict";
(function () {
  const REFRESH_MS = 3000;
  const panel = document.body.dataset.panel;
  const target = document.getElementById("live-content");
  async function refresh() {
    try {
      const response = await fetch(panel, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
      target.innerHTML = await response.text();
      document.body.classList.remove("stale");
    } catch (e) {
      document.body.classList.add("stale");
    }
  }
  setInterval(refresh, REFRESH_MS);
})();
