// The console's only script, served as a file (/console/console.js): the Content-Security-Policy lets no inline script run.
export const CONSOLE_SCRIPT_PATH = '/console.js';

export const CONSOLE_SCRIPT = `'use strict';
// コピー: the enrollment password shown once, to the clipboard with one click.
document.querySelectorAll('[data-copy]').forEach(function (button) {
  button.addEventListener('click', function () {
    var source = document.getElementById(button.getAttribute('data-copy'));
    if (source && navigator.clipboard) navigator.clipboard.writeText(source.textContent);
  });
});
// 診断: a chosen certificate file goes into the same form, PEM as text and DER as base64.
var file = document.getElementById('file');
if (file) file.addEventListener('change', function (e) {
  var f = e.target.files[0]; if (!f) return;
  f.arrayBuffer().then(function (buf) {
    var bytes = new Uint8Array(buf), text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    if (text.indexOf('-----BEGIN') >= 0) { document.getElementById('certificate').value = text; document.getElementById('der').value = ''; }
    else { document.getElementById('der').value = btoa(text); document.getElementById('certificate').value = ''; }
  });
});
// 一括登録: the chosen CSV file goes into the form base64-encoded, so one urlencoded POST carries it.
var csvFile = document.getElementById('csvFile');
if (csvFile) csvFile.addEventListener('change', function (e) {
  var f = e.target.files[0], button = document.getElementById('check');
  button.disabled = true; if (!f) return;
  f.arrayBuffer().then(function (buf) {
    var bytes = new Uint8Array(buf), text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    document.getElementById('fileData').value = btoa(text);
    document.getElementById('fileName').value = f.name;
    button.disabled = false;
  });
});
`;
