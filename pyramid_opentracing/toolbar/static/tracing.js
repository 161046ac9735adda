/* The Tracing panel of pyramid_opentracing: show a span's details on click,
   copy the trace link. Reads no span data: the page carries it, escaped. */
(function () {
  'use strict';
  function toggle(row) {
    var detail = document.getElementById(row.getAttribute('data-detail'));
    if (!detail) { return; }
    detail.hidden = !detail.hidden;
    row.setAttribute('aria-expanded', detail.hidden ? 'false' : 'true');
  }
  document.addEventListener('click', function (event) {
    var row = event.target.closest && event.target.closest('.ot-row');
    if (row) { toggle(row); return; }
    var copy = event.target.closest && event.target.closest('.ot-copy');
    if (copy) {
      var input = copy.parentNode.querySelector('.ot-trace-link');
      input.select();
      if (navigator.clipboard) {
        navigator.clipboard.writeText(input.value).catch(function () {
          document.execCommand('copy');
        });
      } else {
        document.execCommand('copy');
      }
    }
  });
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Enter' && event.key !== ' ') { return; }
    var row = event.target.closest && event.target.closest('.ot-row');
    if (row) { event.preventDefault(); toggle(row); }
  });
}());
