'use strict';
/* The end of the provider's sign-in: the access token goes where the console keeps its
   token (this tab's sessionStorage), then on to the console without this page in the
   history. */
(function () {
  const handoff = document.getElementById('handoff');
  sessionStorage.setItem('motcua.queue.token', handoff.dataset.token);
  window.location.replace(handoff.dataset.next);
}());
