// Job page: live progress without reloading. Polls GET /api/v1/jobs/{id} with the session
// (every second while the job is queued, running or re-rendering; slower while the tab is hidden
// or the server does not answer) and stops once the job is final.
(function () {
  "use strict";
  var panel = document.getElementById("job");
  if (!panel) return;

  function json(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var stageLabels = json("stage-labels") || {};
  var stepLabels = json("step-status-labels") || {};
  var stageOrder = json("stage-order") || [];
  var artifactLabels = json("artifact-labels") || {};
  var downloadOrder = json("download-order") || Object.keys(artifactLabels);
  var languageNames = json("language-names") || {};
  var statusLabels = { queued: gettext("Queued"), running: gettext("Running"), succeeded: gettext("Succeeded"), failed: gettext("Failed"), cancelled: gettext("Cancelled") };

  var url = panel.dataset.apiUrl;
  var downloadParam = panel.dataset.downloadParam || "";
  var statusNode = document.getElementById("job-status");
  var stageNode = document.getElementById("job-stage");
  var bar = document.getElementById("job-progress");
  var barText = document.getElementById("job-progress-text");
  var etaNode = document.getElementById("job-eta");
  var live = document.getElementById("job-live");
  var steps = document.getElementById("job-steps");
  var errorBox = document.getElementById("job-error");
  var errorLabel = document.getElementById("job-error-label");
  var errorDetail = document.getElementById("job-error-detail");
  var errorCode = document.getElementById("job-error-code");
  var cancelForm = document.getElementById("job-cancel");
  var retryForm = document.getElementById("job-retry");
  var linesLink = document.getElementById("job-lines-link");
  var speakersLink = document.getElementById("job-speakers-link");
  var player = document.getElementById("dubbed-player");
  var originalPlayer = document.getElementById("original-player");
  var waiting = document.getElementById("dubbed-waiting");
  var downloadsBox = document.getElementById("job-downloads");
  var downloadList = document.getElementById("download-list");
  var sourceLanguage = document.getElementById("job-source-language");
  var publishBox = document.getElementById("job-publish");

  var FAST = 1000, HIDDEN = 5000, MAX_BACKOFF = 15000;
  var delay = FAST, timer = null, lastAnnounced = "", shownKinds = null;
  var running = panel.dataset.active === "1";

  function isActive(job) {
    return job.status === "queued" || job.status === "running" || job.rendering;
  }

  function announce(text) {
    if (text && text !== lastAnnounced) {
      live.textContent = text;
      lastAnnounced = text;
    }
  }

  function renderSteps(job, active) {
    var byName = {};
    (job.steps || []).forEach(function (step) { byName[step.name] = step; });
    var names = active ? stageOrder : (job.steps || []).map(function (step) { return step.name; });
    var items = names.map(function (name) {
      var step = byName[name] || { name: name, status: "waiting", seconds: null };
      var li = document.createElement("li");
      li.className = "job-step job-step--" + step.status;
      li.dataset.step = name;
      var label = document.createElement("span");
      label.className = "job-step__label";
      label.textContent = stageLabels[name] || name;
      var status = document.createElement("span");
      status.className = "job-step__status";
      var text = stepLabels[step.status] || step.status;
      if (step.status === "done" && step.seconds !== null && step.seconds !== undefined) {
        text += " · " + interpolate(gettext("%(seconds)s s"), { seconds: step.seconds.toFixed(1) }, true);
      }
      status.textContent = text;
      li.appendChild(label);
      li.appendChild(status);
      return li;
    });
    steps.replaceChildren.apply(steps, items);
  }

  function renderDownloads(job) {
    var artifacts = job.artifacts || {};
    var kinds = downloadOrder.filter(function (kind) { return artifacts[kind]; });
    var key = kinds.join(",");
    if (key === shownKinds) return; // the links' tokens change on every answer: keep the first ones
    shownKinds = key;
    var items = kinds.map(function (kind) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = artifacts[kind] + downloadParam;
      a.setAttribute("download", "");
      a.dataset.kind = kind;
      a.textContent = artifactLabels[kind] || kind;
      li.appendChild(a);
      return li;
    });
    downloadList.replaceChildren.apply(downloadList, items);
    downloadsBox.hidden = kinds.length === 0;
    if (kinds.length && !isActive(job)) nameDownloads();
  }

  function nameDownloads() {
    // The finished job's files as the page gives them after a reload: each link with its file's
    // name and size. Until that answer (or if it never comes) the links above work as they are.
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("download-list");
        if (fresh && fresh.children.length) {
          downloadList.replaceChildren.apply(downloadList, Array.prototype.slice.call(fresh.children));
        }
      })
      .catch(function () {});
  }

  // A <track> of `url` in `language` on `video`, unless it has one already (a page loaded later has it).
  function addTrack(video, url, language, shown) {
    if (!video || video.tagName !== "VIDEO" || !url || video.querySelector("track")) return;
    var track = document.createElement("track");
    track.kind = "subtitles";
    track.src = url;
    track.srclang = language;
    track.label = languageNames[language] || language;
    track.default = shown;
    video.appendChild(track);
  }

  function renderPlayer(job) {
    if (!player) return;
    var artifacts = job.artifacts || {};
    var src = player.tagName === "VIDEO" ? artifacts.dubbed_video : artifacts.dubbed_audio;
    if (src && !player.getAttribute("src")) {
      // The subtitles, as on a page loaded after the dub finished: the translation on the dub,
      // shown by default, and what was said on the original, there to switch on.
      addTrack(player, artifacts.subtitles_target_vtt, job.target_language, true);
      var spoken = job.detected_language || job.source_language;
      addTrack(originalPlayer, artifacts.subtitles_source_vtt, spoken === "auto" ? "" : spoken, false);
      player.src = src;
      player.hidden = false;
      if (waiting) waiting.hidden = true;
    }
  }

  // The same words as the page's first render (dubbing/views.py time_left_text).
  function timeLeft(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 60) return gettext("Less than a minute left");
    var minutes = Math.round(seconds / 60);
    return interpolate(ngettext("About %(minutes)s minute left", "About %(minutes)s minutes left", minutes),
                       { minutes: minutes }, true);
  }

  function render(job) {
    var active = isActive(job);
    var status = job.rendering ? gettext("Re-rendering") : (statusLabels[job.status] || job.status);
    statusNode.textContent = status;
    statusNode.className = "job-badge job-badge--" + job.status;
    var stage = active && job.stage ? (stageLabels[job.stage] || job.stage) : "";
    stageNode.textContent = stage;
    var progress = Math.max(0, Math.min(100, job.progress || 0));
    bar.value = progress;
    bar.textContent = progress + "%";
    barText.textContent = progress + "%";
    if (etaNode) etaNode.textContent = active ? timeLeft(job.eta_seconds) : "";
    renderSteps(job, active);
    if (job.error) {
      errorLabel.textContent = job.status === "succeeded" ? gettext("The re-render did not finish:")
        : job.status === "cancelled" ? gettext("The dub did not finish:") : gettext("The dub failed:");
      errorDetail.textContent = job.error.detail || "";
      errorCode.textContent = job.error.code || "";
      errorBox.hidden = false;
    } else {
      errorBox.hidden = true;
    }
    cancelForm.hidden = !(job.status === "queued" || job.status === "running");
    retryForm.hidden = !(job.status === "failed" || job.status === "cancelled");
    linesLink.hidden = !(job.status === "succeeded" && !job.rendering);
    if (speakersLink) speakersLink.hidden = linesLink.hidden;
    if (publishBox) publishBox.hidden = job.status !== "succeeded";
    if (job.detected_language && sourceLanguage) {
      sourceLanguage.textContent = languageNames[job.detected_language] || job.detected_language;
    }
    renderPlayer(job);
    renderDownloads(job);
    announce(active ? status + (stage ? ": " + stage : "") : status + ".");
    return active;
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (job) {
        delay = FAST;
        running = render(job);
        if (running) schedule(document.hidden ? HIDDEN : FAST);
      })
      .catch(function () {
        delay = Math.min(delay * 2, MAX_BACKOFF);
        schedule(delay);
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && running) schedule(0);
  });

  if (running) {
    // Start from the server's page; the first answer replaces it a second later.
    schedule(FAST);
  }
})();
