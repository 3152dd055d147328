// ketch UI: live updates for pages that show a running run. Everything else works without JS.
// <main data-live="URL ..."> lists the live endpoints of the runs still running on this page.
// We poll them; when one reports a new version (a task started or finished, the run ended), the
// page's HTML is fetched again and <main> is swapped in place, keeping the scroll position.
(function () {
  "use strict";
  var PERIOD_MS = 1500;
  var versions = {};

  function main() { return document.getElementById("main"); }

  function liveUrls() {
    var m = main();
    var text = m && m.getAttribute("data-live");
    return text ? text.split(/\s+/).filter(Boolean) : [];
  }

  function refresh() {
    return fetch(window.location.href, { cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("main");
        var current = main();
        if (!next || !current) return;
        current.innerHTML = next.innerHTML;
        if (next.hasAttribute("data-live")) current.setAttribute("data-live", next.getAttribute("data-live"));
        else current.removeAttribute("data-live");
        document.title = doc.title || document.title;
      });
  }

  function poll() {
    var urls = liveUrls();
    if (!urls.length) return;
    Promise.all(urls.map(function (url) {
      return fetch(url, { cache: "no-store" }).then(function (r) { return r.ok ? r.json() : null; });
    })).then(function (states) {
      var changed = false;
      states.forEach(function (state, i) {
        if (!state) return;
        var url = urls[i];
        if (url in versions && versions[url] !== state.version) changed = true;
        if (!(url in versions) && state.status !== "running") changed = true;
        versions[url] = state.version;
      });
      return changed ? refresh() : null;
    }).catch(function () { /* the server may be restarting: try again next period */ })
      .then(function () { if (liveUrls().length) setTimeout(poll, PERIOD_MS); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", poll);
  else poll();
})();
