// The upload limit, checked in the browser before a byte is sent: a form with
// data-max-bytes is not submitted when its files and text together are over
// it (lighttpd would refuse it with 413 only after the upload had started,
// and a browser still sending may see a reset instead of that answer).
(function () {
  'use strict';
  // the multipart envelope: boundaries, part headers and the small fields
  var ENVELOPE = 16384;
  function size(form) {
    var n = ENVELOPE;
    var enc = new TextEncoder();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.type === 'file' && el.files) {
        Array.prototype.forEach.call(el.files, function (f) { n += f.size; });
      } else if (el.tagName === 'TEXTAREA') {
        n += enc.encode(el.value.replace(/\r?\n/g, '\r\n')).length;
      }
    });
    return n;
  }
  function mib(n) { return (n / 1048576).toFixed(1).replace(/\.0$/, '') + ' MiB'; }
  Array.prototype.forEach.call(document.querySelectorAll('form[data-max-bytes]'), function (form) {
    var max = Number(form.getAttribute('data-max-bytes'));
    var note = document.createElement('p');
    note.className = 'error';
    note.setAttribute('role', 'alert');
    note.hidden = true;
    form.insertBefore(note, form.firstChild);
    form.addEventListener('submit', function (ev) {
      var n = size(form);
      if (n <= max) { note.hidden = true; return; }
      ev.preventDefault();
      note.textContent = 'Not sent: this upload is ' + mib(n) + ' with the form, and an upload may be at most ' + mib(max) + '. Split the list, or compress the file with gzip.';
      note.hidden = false;
    });
  });
})();
