// Render progress on the transparency page: poll each job's JSON status and update its bar;
// reload the page once every job has finished so the new version appears in the list.
(function () {
  "use strict";
  var jobs = Array.prototype.slice.call(document.querySelectorAll(".render-job[data-status-url]"));
  if (!jobs.length || !window.fetch) { return; }
  var pending = jobs.length;

  function poll(item) {
    fetch(item.getAttribute("data-status-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { return; }
        var bar = item.querySelector("progress");
        var stage = item.querySelector(".job-stage");
        if (bar) { bar.value = status.progress; bar.textContent = status.progress + "%"; }
        if (stage) { stage.textContent = status.stage_label; }
        if (status.done || status.failed) {
          pending -= 1;
          if (pending === 0 && status.done) { window.location.reload(); }
          return;
        }
        window.setTimeout(function () { poll(item); }, 1500);
      })
      .catch(function () { window.setTimeout(function () { poll(item); }, 5000); });
  }
  jobs.forEach(poll);
}());
