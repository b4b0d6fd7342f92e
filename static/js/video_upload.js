// Upload page: send the file to the API with real progress, then wait while the server checks it.
// Server upload: one multipart POST /api/v1/videos (session cookie + CSRF header).
// Direct upload (object storage configured): POST /api/v1/uploads, PUT each part straight to the
// bucket's presigned URLs, then POST .../complete, which probes the file.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var fileInput = document.getElementById("upload-file");
  var titleInput = document.getElementById("upload-title");
  var bar = document.getElementById("upload-bar");
  var box = document.getElementById("upload-progress");
  var statusText = document.getElementById("upload-status");
  var errorBox = document.getElementById("upload-error");
  var submit = document.getElementById("upload-submit");
  var maxBytes = parseInt(form.dataset.maxBytes, 10);
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    box.hidden = true;
    submit.disabled = false;
    fileInput.disabled = false;
  }

  function setProgress(sent, total) {
    var pct = total ? Math.floor((sent / total) * 100) : 0;
    bar.value = pct;
    bar.removeAttribute("data-done");
    statusText.textContent = interpolate(gettext("Uploading… %(percent)s (%(sent)s of %(total)s)"),
                                         { percent: pct + "%", sent: formatMB(sent), total: formatMB(total) }, true);
  }

  function checking() {
    bar.value = 100;
    bar.removeAttribute("value"); // indeterminate while the server probes
    statusText.textContent = gettext("Checking the file…");
  }

  function formatMB(bytes) {
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function errorFrom(xhr) {
    var body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
    if (body && body.detail) return body.detail;
    if (xhr.status === 413) return gettext("The file is too large.");
    if (xhr.status === 0) return gettext("The upload was interrupted. Check your connection and try again.");
    return interpolate(gettext("The upload failed (HTTP %(status)s). Please try again."), { status: xhr.status }, true);
  }

  function done(video) {
    statusText.textContent = gettext("Done. Opening your video…");
    window.location.assign(form.dataset.videoUrlTemplate.replace("00000000-0000-0000-0000-000000000000", video.id));
  }

  function request(method, url, body, onUploadProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      if (onUploadProgress) xhr.upload.addEventListener("progress", onUploadProgress);
      if (body && !(body instanceof FormData)) xhr.setRequestHeader("Content-Type", "application/json");
      xhr.onload = function () { (xhr.status >= 200 && xhr.status < 300 ? resolve : reject)(xhr); };
      xhr.onerror = function () { reject(xhr); };
      xhr.send(body && !(body instanceof FormData) ? JSON.stringify(body) : body);
    });
  }

  function serverUpload(file) {
    var data = new FormData();
    data.append("title", titleInput.value);
    data.append("file", file);
    return request("POST", form.dataset.apiUrl, data, function (event) {
      if (!event.lengthComputable) return;
      setProgress(event.loaded, event.total);
      if (event.loaded >= event.total) checking();
    }).then(function (xhr) { return JSON.parse(xhr.responseText); });
  }

  function putPart(url, blob, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.upload.addEventListener("progress", function (e) { if (e.lengthComputable) onProgress(e.loaded); });
      xhr.onload = function () {
        var etag = xhr.getResponseHeader("ETag");
        if (xhr.status >= 200 && xhr.status < 300 && etag) resolve(etag);
        else reject(new Error(etag ? gettext("A part was refused by the storage.") : gettext("The storage did not expose the ETag header (check the bucket's CORS rule).")));
      };
      xhr.onerror = function () { reject(new Error(gettext("A part could not be sent to the storage."))); };
      xhr.send(blob);
    });
  }

  async function directUpload(file) {
    var started = JSON.parse((await request("POST", form.dataset.uploadsUrl, {
      filename: file.name, size: file.size, content_type: file.type,
    })).responseText);
    var completeUrl = form.dataset.uploadsUrl + "/" + started.upload_id;
    var sentBefore = 0;
    var parts = [];
    try {
      for (var i = 0; i < started.parts.length; i++) {
        var part = started.parts[i];
        var start = (part.part_number - 1) * started.part_size;
        var blob = file.slice(start, Math.min(start + started.part_size, file.size));
        var etag = await putPart(part.url, blob, function (loaded) { setProgress(sentBefore + loaded, file.size); });
        sentBefore += blob.size;
        parts.push({ part_number: part.part_number, etag: etag });
      }
    } catch (err) {
      request("DELETE", completeUrl).catch(function () {});
      throw err;
    }
    checking();
    var xhr = await request("POST", completeUrl + "/complete", { parts: parts, title: titleInput.value });
    return JSON.parse(xhr.responseText);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.hidden = true;
    var file = fileInput.files[0];
    if (!file) return showError(gettext("Choose a file first."));
    if (file.size === 0) return showError(gettext("The file is empty."));
    if (file.size > maxBytes) {
      return showError(interpolate(gettext("The file is larger than the %(limit)s limit."), { limit: formatMB(maxBytes) }, true));
    }
    submit.disabled = true;
    fileInput.disabled = true;
    box.hidden = false;
    setProgress(0, file.size);
    var upload = form.dataset.direct === "1" ? directUpload(file) : serverUpload(file);
    upload.then(done, function (failure) {
      showError(failure instanceof XMLHttpRequest ? errorFrom(failure) : (failure && failure.message) || gettext("The upload failed."));
    });
  });
})();
