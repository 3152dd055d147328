// ketch UI: metric charts, drawn with the vendored Vega (vega-embed, vega-interpreter: no eval,
// so the page's Content-Security-Policy stays strict). A section [data-metrics] holds its data
// as JSON: {charts: [{name, series: [{task, count, points: [[x, y], ...]}]}], cursor, live}.
// With `live` (the run still runs), the section polls it for the points logged after `cursor`
// and appends them; each line is a "task" (a task, or on the compare page a run).
(function () {
  "use strict";
  var PERIOD_MS = 2000;

  // Few points: each is marked, so that a series of one point shows.
  function spec(name, rows, longest) {
    return {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: "container", height: 220, autosize: {type: "fit-x", contains: "padding"},
      data: {name: "points", values: rows},
      mark: {type: "line", interpolate: "linear", clip: true, point: longest <= 50},
      encoding: {
        x: {field: "x", type: "quantitative", title: "step", axis: {tickMinStep: 1, format: "~s"}},
        y: {field: "y", type: "quantitative", title: name, scale: {zero: false}},
        color: {field: "task", type: "nominal", title: null, legend: {orient: "bottom", columns: 3, labelLimit: 320}},
        order: {field: "i"}
      }
    };
  }

  var options = function () {
    return {renderer: "svg", actions: false, defaultStyle: false, tooltip: false, ast: true,
      expr: vegaInterpreter.expressionInterpreter};
  };

  // One chart: `series` ([{task, count, points}]) are its first lines, drawn at once.
  function Chart(section, name, figure, series) {
    this.name = name;
    this.counts = {};
    this.total = 0;
    this.figure = figure || makeFigure(section, name);
    this.figure.ketchChart = this; // for the browser tests
    this.pending = [];
    var rows = [], longest = 0;
    (series || []).forEach(function (s) {
      rows = rows.concat(this.rows(s.task, s.points, s.count));
      longest = Math.max(longest, s.points.length);
    }, this);
    this.figure.setAttribute("data-points", String(rows.length));
    var self = this;
    this.ready = vegaEmbed(this.figure.querySelector(".metric-view"), spec(name, rows, longest),
      options()).then(function (result) { self.view = result.view; self.flush(); });
  }

  // The chart's rows for `points` of `task` ([[x, y]]; x null: the next place in the series; y
  // null: a NaN or an infinity, which takes its place and is not drawn).
  Chart.prototype.rows = function (task, points, count) {
    var rows = [], next = this.counts[task] || 0, total = this.total;
    points.forEach(function (p) {
      var x = p[0] === null ? next++ : p[0];
      if (p[1] !== null) rows.push({task: task, x: x, y: p[1], i: total + rows.length});
    });
    this.counts[task] = count !== undefined ? count : next;
    this.total += rows.length;
    return rows;
  };

  Chart.prototype.add = function (task, points) {
    this.pending = this.pending.concat(this.rows(task, points));
    this.flush();
  };

  Chart.prototype.drop = function (task) {
    this.counts[task] = 0;
    this.pending = this.pending.filter(function (r) { return r.task !== task; });
    if (this.view) this.view.remove("points", function (r) { return r.task === task; }).run();
  };

  Chart.prototype.flush = function () {
    if (!this.view || !this.pending.length) return;
    this.view.insert("points", this.pending).run();
    this.pending = [];
    this.figure.setAttribute("data-points", String(this.view.data("points").length));
  };

  function makeFigure(section, name) {
    var figure = document.createElement("figure");
    figure.className = "metric-chart";
    figure.setAttribute("data-metric", name);
    var caption = document.createElement("figcaption");
    caption.className = "mono";
    caption.textContent = name;
    var view = document.createElement("div");
    view.className = "metric-view";
    figure.appendChild(caption);
    figure.appendChild(view);
    section.querySelector(".metric-charts").appendChild(figure);
    return figure;
  }

  function setup(section) {
    if (section.ketchCharts) return;
    var data = JSON.parse(section.querySelector("script.metric-data").textContent);
    var charts = section.ketchCharts = {};
    var byName = {};
    (data.charts || []).forEach(function (chart) { byName[chart.name] = chart.series; });
    Array.prototype.forEach.call(section.querySelectorAll(".metric-chart"), function (figure) {
      var name = figure.getAttribute("data-metric");
      charts[name] = new Chart(section, name, figure, byName[name]);
    });
    if (data.live) poll(section, data.live, data.cursor);
  }

  function apply(section, answer) {
    var charts = section.ketchCharts;
    (answer.reset || []).forEach(function (task) {
      Object.keys(charts).forEach(function (name) { charts[name].drop(task); });
    });
    answer.series.forEach(function (s) {
      if (!charts[s.name]) charts[s.name] = new Chart(section, s.name, null, [s]);
      else charts[s.name].add(s.task, s.points);
    });
    if (answer.series.length) section.hidden = false;
  }

  function poll(section, url, cursor) {
    setTimeout(function () {
      fetch(url + "?after=" + encodeURIComponent(cursor), {cache: "no-store"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (answer) {
          if (!answer) return poll(section, url, cursor);
          apply(section, answer);
          if (answer.status === "running" || answer.series.length) poll(section, url, answer.cursor);
        })
        .catch(function () { poll(section, url, cursor); });
    }, PERIOD_MS);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-metrics]"), setup);
    // A live refresh of the page may bring the section in later (the first metric logged).
    new MutationObserver(function () {
      Array.prototype.forEach.call(document.querySelectorAll("[data-metrics]"), setup);
    }).observe(document.getElementById("main") || document.body, {childList: true, subtree: true});
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
