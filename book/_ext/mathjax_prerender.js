// Typeset TeX to MathJax CommonHTML at build time (used by math_prerender.py).
//
//   node mathjax_prerender.js ES5_DIR FONT_URL
//
// ES5_DIR is MathJax 3's es5/ folder (from the django-static-mathjax wheel);
// FONT_URL is where the page's stylesheet finds MathJax's woff fonts.
// Reads one JSON request per line on stdin and answers one JSON line each:
//   {"tex": "...", "display": true}  ->  {"html": "<mjx-container ...>", "error": ""}
//   {"css": true}                    ->  {"css": "<stylesheet for every character typeset so far>"}
// The input jax is the same "input/tex" component the browser bundle uses
// (base, ams, newcommand, noundefined, require, autoload, configmacros), so a
// formula renders here exactly as it did in the reader's browser; the
// assistive-MathML extension adds a hidden MathML copy for screen readers.
"use strict";
const readline = require("readline");
const [es5, fontURL] = process.argv.slice(2);

global.MathJax = {
  loader: {
    paths: {mathjax: es5},
    require: require,
    load: ["adaptors/liteDOM", "input/tex", "output/chtml", "a11y/assistive-mml"],
  },
  chtml: {fontURL: fontURL, adaptiveCSS: true},
  startup: {typeset: false},
};
require(es5 + "/startup.js");

// A formula that TeX could not parse, or a macro it does not know (shown in red).
function errorOf(node, adaptor) {
  const html = adaptor.outerHTML(node);
  const m = html.match(/data-mjx-error="([^"]*)"/);
  if (m) return m[1];
  const red = html.match(/<mtext mathcolor="red">([^<]*)<\/mtext>/);
  if (red) return "undefined control sequence " + red[1];
  return "";
}

MathJax.startup.promise.then(() => {
  const adaptor = MathJax.startup.adaptor;
  let queue = Promise.resolve();
  const reply = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
  readline.createInterface({input: process.stdin}).on("line", (line) => {
    queue = queue.then(async () => {
      const req = JSON.parse(line);
      if (req.css) {
        reply({css: adaptor.textContent(MathJax.chtmlStylesheet())});
        return;
      }
      try {
        const node = await MathJax.tex2chtmlPromise(req.tex, {display: !!req.display});
        reply({html: adaptor.outerHTML(node), error: errorOf(node, adaptor)});
      } catch (e) {
        reply({html: "", error: String(e && e.message || e)});
      }
    });
  });
}).catch((e) => {
  console.error(e);
  process.exit(1);
});
