// Auto-refresh of the live log: re-fetch the server-rendered fragment
// (same filters) every 5 s and swap it in. Same-origin only (CSP).
(function () {
  'use strict';
  var box = document.getElementById('live');
  var auto = document.getElementById('auto');
  if (!box || !auto) return;
  function tick() {
    if (!auto.checked || document.hidden) return;
    fetch(box.getAttribute('data-src'), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (r.status === 401) { window.location.href = '/login'; return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString('<div>' + html + '</div>', 'text/html');
        box.replaceChildren.apply(box, Array.prototype.slice.call(doc.body.firstChild.childNodes));
      })
      .catch(function () { /* keep the last view */ });
  }
  setInterval(tick, 5000);
})();
