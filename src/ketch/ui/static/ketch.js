// ketch UI: live updates for pages that show a running run. Everything else works without JS.
// <main data-live="URL ..."> lists the live endpoints of the runs still running on this page.
// We poll them; when one reports a new version (a task started or finished, the run ended, a
// card of the task shown was refreshed), the page's HTML is fetched again and <main> is patched
// in place, keeping the scroll position. Card frames are kept across patches: one reloads only
// when its data-version changed, so a live card updates without flashing.
(function () {
  "use strict";
  var PERIOD_MS = 1500;
  var MAX_CARD_PX = 1600; // a taller card scrolls inside its frame
  var versions = {};

  function main() { return document.getElementById("main"); }

  function liveUrls() {
    var m = main();
    var text = m && m.getAttribute("data-live");
    return text ? text.split(/\s+/).filter(Boolean) : [];
  }

  // A frame, or an element marked data-keep (metric charts: they update themselves), is kept.
  function holdsFrame(node) {
    return node.tagName === "IFRAME" || node.hasAttribute("data-keep") ||
      !!node.querySelector("iframe");
  }

  function copyAttributes(target, source, skip) {
    skip = skip || [];
    Array.prototype.slice.call(target.attributes).forEach(function (a) {
      if (!source.hasAttribute(a.name) && skip.indexOf(a.name) < 0) target.removeAttribute(a.name);
    });
    Array.prototype.forEach.call(source.attributes, function (a) {
      if (skip.indexOf(a.name) < 0 && target.getAttribute(a.name) !== a.value) target.setAttribute(a.name, a.value);
    });
  }

  function updateFrame(frame, next) {
    var changed = frame.getAttribute("data-version") !== next.getAttribute("data-version") ||
      frame.getAttribute("src") !== next.getAttribute("src");
    copyAttributes(frame, next, ["src", "style"]); // style: the height fit() gave it
    if (!changed) return;
    try { frame.ketchScroll = frame.contentWindow.scrollY; } catch (e) { frame.ketchScroll = 0; }
    frame.setAttribute("src", next.getAttribute("src")); // navigates even when the URL is the same
  }

  // Make `current`'s children those of `next`. A child with the same id that holds a frame is
  // patched in place (a frame itself only gets its attributes); everything else is replaced.
  function patch(current, next) {
    var old = {};
    Array.prototype.forEach.call(current.children, function (el) { if (el.id) old[el.id] = el; });
    var pos = current.firstChild;
    Array.prototype.slice.call(next.childNodes).forEach(function (node) {
      var match = node.nodeType === 1 && node.id ? old[node.id] : null;
      var ahead = match && (match === pos ||
        (pos && pos.compareDocumentPosition(match) & Node.DOCUMENT_POSITION_FOLLOWING));
      if (!ahead || match.tagName !== node.tagName || !holdsFrame(node) || !holdsFrame(match)) {
        current.insertBefore(node, pos);
        return;
      }
      while (pos !== match) { var gone = pos; pos = pos.nextSibling; current.removeChild(gone); }
      pos = match.nextSibling;
      if (node.tagName === "IFRAME") updateFrame(match, node);
      else if (!node.hasAttribute("data-keep")) { copyAttributes(match, node); patch(match, node); }
    });
    while (pos) { var rest = pos; pos = pos.nextSibling; current.removeChild(rest); }
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
        copyAttributes(current, next);
        patch(current, next);
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

  // A card is a document of its own: size its frame to it (a card without a chart: the frame is
  // same-origin and script-free; one with a chart posts its height, see above).
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      var height = Math.ceil(doc.documentElement.getBoundingClientRect().height);
      if (height > 0) frame.style.height = Math.min(height, MAX_CARD_PX) + "px";
      if (frame.ketchScroll) frame.contentWindow.scrollTo(0, frame.ketchScroll);
      frame.ketchScroll = 0;
    } catch (e) { /* not readable: the frame keeps its CSS height */ }
  }

  // A card with a chart runs in a sandbox of its own origin: it posts its height instead.
  window.addEventListener("message", function (event) {
    var height = event.data && event.data.ketchCardHeight;
    if (typeof height !== "number" || height <= 0) return;
    Array.prototype.forEach.call(document.querySelectorAll("iframe"), function (frame) {
      if (frame.contentWindow === event.source) {
        frame.style.height = Math.min(height, MAX_CARD_PX) + "px";
      }
    });
  });

  document.addEventListener("load", function (event) {
    if (event.target.tagName === "IFRAME") fit(event.target);
  }, true);

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("iframe"), function (frame) {
      var doc = frame.contentDocument;
      if (doc && doc.readyState === "complete" && doc.URL !== "about:blank") fit(frame);
    });
    poll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
