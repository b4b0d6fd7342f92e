// File inputs in the page's language (templates/_file_picker.html): once this runs, the native
// input is laid transparent over the picker's face, whose name line says what was chosen.
(function () {
  "use strict";
  document.querySelectorAll(".file-picker").forEach(function (picker) {
    var input = picker.querySelector("input[type=file]");
    var name = picker.querySelector(".file-picker__name");
    if (!input || !name) return;
    function show() {
      var files = Array.prototype.map.call(input.files || [], function (file) { return file.name; });
      name.textContent = files.length ? files.join(", ") : picker.dataset.none;
      picker.classList.toggle("file-picker--chosen", files.length > 0);
    }
    input.addEventListener("change", show);
    show();
    picker.classList.add("file-picker--ready");
  });
})();
