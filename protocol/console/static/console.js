// The console's only script (the Content-Security-Policy allows no inline script).
// 1. While a campaign sends, refresh its delivery progress from progress.json every 2 seconds.
// 2. While a CSV file uploads, show an indeterminate progress bar.
// 3. While an import job is Queued or Importing, refresh its figures from its progress.json every 2 seconds;
//    when it is Completed the bar is full (rows read of rows read), when Failed the page says why.
(function () {
  "use strict";
  var FINISHED = { "Sent": true, "Failed": true, "Draft": true };

  function follow(box) {
    var url = box.getAttribute("data-progress-url");
    var bar = box.querySelector("progress");
    function show(data) {
      Object.keys(data).forEach(function (name) {
        var field = box.querySelector('[data-field="' + name + '"]');
        if (field) { field.textContent = name === "per_second" ? Number(data[name]).toFixed(2) : String(data[name]); }
      });
      bar.max = Math.max(data.total, 1);
      bar.value = data.done;
      bar.textContent = data.done + " of " + data.total;
      box.setAttribute("data-status", data.status);
      var status = document.getElementById("campaign-status");
      if (status && status.textContent.indexOf(data.status) === -1) { status.textContent = data.status; }
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
          return response.ok && json ? response.json() : null;
        })
        .then(function (data) {
          if (data) { show(data); }
          if (!data || !FINISHED[data.status]) { window.setTimeout(poll, 2000); }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    if (!FINISHED[box.getAttribute("data-status")]) { window.setTimeout(poll, 2000); }
  }

  var IMPORT_DONE = { "Completed": true, "Failed": true };

  function followImport(box) {
    var url = box.getAttribute("data-import-url");
    var bar = document.getElementById("import-progress");
    function show(data) {
      ["status", "total", "imported", "updated", "duplicates", "failed"].forEach(function (name) {
        var field = box.querySelector('[data-import="' + name + '"]');
        if (field) { field.textContent = String(data[name]); }
      });
      box.setAttribute("data-import-status", data.status);
      if (IMPORT_DONE[data.status] && bar) {
        bar.max = Math.max(data.total, 1);
        bar.value = data.total;
        bar.textContent = data.total + " of " + data.total + " rows";
      }
      if (data.status === "Failed" && data.error) {
        var why = document.createElement("p");
        why.className = "error";
        why.setAttribute("role", "alert");
        why.textContent = data.error;
        box.insertBefore(why, bar);
      }
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
          return response.ok && json ? response.json() : null;
        })
        .then(function (data) {
          if (data) { show(data); }
          if (!data || !IMPORT_DONE[data.status]) { window.setTimeout(poll, 2000); }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    if (!IMPORT_DONE[box.getAttribute("data-import-status")]) { window.setTimeout(poll, 2000); }
  }

  function uploads(form) {
    form.addEventListener("submit", function () {
      var bar = document.getElementById("upload-progress");
      if (bar) { bar.hidden = false; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-progress-url]"), follow);
    Array.prototype.forEach.call(document.querySelectorAll("[data-import-url]"), followImport);
    var form = document.getElementById("import-form");
    if (form) { uploads(form); }
  });
}());
