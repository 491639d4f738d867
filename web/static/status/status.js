/*
 * Timmy World status page: refresh the live part every few seconds.
 *
 * Fetches the server-rendered fragment (the page URL with ?partial=1) and
 * swaps it in, so the table, the incidents and the charts all stay current
 * without a full reload. Local, dependency-free; without JavaScript a
 * <noscript> meta refresh reloads the page instead.
 */
(function () {
    "use strict";

    var root = document.getElementById("status-root");
    if (!root || !window.fetch) {
        return;
    }
    var url = root.getAttribute("data-refresh-url");
    var seconds = parseInt(root.getAttribute("data-refresh-seconds"), 10) || 30;
    var note = document.getElementById("refresh-note");
    var refreshes = 0;

    function say(text) {
        if (note) {
            note.textContent = text;
        }
    }

    function refresh() {
        return fetch(url, {credentials: "same-origin", cache: "no-store"})
            .then(function (response) {
                if (response.redirected) {
                    throw new Error("logged out; reload the page to log in again");
                }
                if (!response.ok) {
                    throw new Error("HTTP " + response.status);
                }
                return response.text();
            })
            .then(function (html) {
                root.innerHTML = html;
                refreshes += 1;
                root.setAttribute("data-refreshes", String(refreshes));
                say("");
                return true;
            })
            .catch(function (error) {
                say("Refresh failed (" + error.message + "); retrying.");
                return false;
            });
    }

    window.timmyStatus = {refresh: refresh};
    window.setInterval(refresh, seconds * 1000);
}());
