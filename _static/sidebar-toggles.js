/* Make the header's sidebar buttons work (pydata-sphinx-theme 0.17 with
   sphinx-book-theme 1.3; pydata-sphinx-theme #2451, sphinx-book-theme #991).
   Both themes bind their click handlers with document.querySelector, so only
   the FIRST ".primary-toggle" / ".secondary-toggle" gets them: the hidden one
   in the theme's top navbar. The visible buttons in the article header get
   nothing and do nothing. Forward a click on any other toggle to the first
   one, whose handlers do the right thing at every width (collapse the
   chapter list on wide screens, open it as a drawer on narrow ones). */
(function () {
  function forward(selector) {
    var all = document.querySelectorAll(selector);
    if (all.length < 2) return;
    var bound = all[0];
    for (var i = 1; i < all.length; i++) {
      all[i].addEventListener("click", function (event) {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    }
  }
  function init() {
    forward(".primary-toggle");
    forward(".secondary-toggle");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
