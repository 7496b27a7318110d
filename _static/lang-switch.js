/* The theme opens header links in a new tab (target="_blank"); the language
   switch (book/_ext/editions.py; Jupyter Book loads every script in _static) should replace the page, like any link
   within the book. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("a.btn-language-switch").forEach(function (a) {
    a.removeAttribute("target");
    a.setAttribute("lang", a.textContent.trim() === "中文" ? "zh-CN" : "en");
  });
});
