/* The capability's "Edit as YAML" tab: Ace over the plain <textarea> (progressive
 * enhancement: without this script, or without Ace, the textarea is the editor).
 * Line numbers, YAML highlighting, the page's errors as gutter annotations; the text is
 * copied back into the textarea on submit. Keyboard: Tab indents inside the editor;
 * Esc leaves the text (Ace's enableKeyboardAccessibility), then Tab moves on. */
(function () {
  "use strict";
  function start() {
    var textarea = document.querySelector("textarea.yaml-source");
    if (!textarea || !window.ace) { return; }
    var script = document.getElementById("yaml-editor-script");
    window.ace.config.set("basePath", script.getAttribute("data-ace-base"));
    var holder = document.createElement("div");
    holder.className = "yaml-ace";
    holder.id = "yaml-ace";
    textarea.parentNode.insertBefore(holder, textarea.nextSibling);
    var editor = window.ace.edit(holder, {
      mode: "ace/mode/yaml",
      value: textarea.value,
      tabSize: 2,
      useSoftTabs: true,
      showPrintMargin: false,
      wrap: true,
      readOnly: textarea.readOnly,
      minLines: 20,
      maxLines: 60,
      fontSize: 13,
      enableKeyboardAccessibility: true
    });
    editor.session.setUndoManager(new window.ace.UndoManager());
    textarea.hidden = true;
    textarea.classList.add("yaml-source-replaced");
    // The label names the editor's text input too (it is what gets the focus).
    var label = document.querySelector('label[for="' + textarea.id + '"]');
    var input = editor.textInput.getElement();
    if (label) {
      label.id = label.id || textarea.id + "-label";
      input.setAttribute("aria-labelledby", label.id);
      editor.renderer.scroller.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { editor.focus(); });
    }
    var data = document.getElementById("yaml-annotations");
    var annotations = data ? JSON.parse(data.textContent) : [];
    editor.session.setAnnotations(annotations);
    if (annotations.length) {
      editor.gotoLine(annotations[0].row + 1, annotations[0].column, false);
      editor.scrollToLine(annotations[0].row, true, false);
    }
    // The errors listed above the editor jump to their line.
    document.querySelectorAll("#yaml-errors li[data-line]").forEach(function (item) {
      item.classList.add("yaml-jump");
      item.tabIndex = 0;
      function jump() {
        editor.gotoLine(Number(item.dataset.line), Number(item.dataset.column) - 1, true);
        editor.focus();
      }
      item.addEventListener("click", jump);
      item.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { jump(); }
      });
    });
    textarea.form.addEventListener("submit", function () {
      textarea.value = editor.getValue();
    });
    window.yamlEditor = editor;  // for the browser tests and the console
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
