"""Two small fixes to the pages Jupyter Book 1 writes, found by the browser test.

* sphinx-thebe's inline configuration script lands twice on each notebook
  page, and the second copy throws "Identifier 'THEBE_JS_URL' has already
  been declared" in the console. Keep the first copy of every script.
* The theme's light/dark switch starts from an empty mode on a first visit
  and logs "Got invalid theme mode" as an error; ``default_mode`` (set in
  _config.yml) gives it a valid start.
"""
from __future__ import annotations


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # The copies differ only in filename None vs "" (both mean inline).
        key = (getattr(js, "filename", js) or "", repr(getattr(js, "attributes", {})))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app):
    # html-page-context stops at the first handler that returns a template
    # name, so run early; the duplicates are in place before any page is written.
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
