/* Behaviour that used to live in inline handlers, which the Content-Security-Policy blocks
   (app/security.py). Bound once, by delegation, so rows and inline forms added later work too.
   Plain DOM: the print pages load this without jQuery.
     a[href="#"]               does nothing (was href="javascript:void(0)")
     a[data-action]            runs a Flask-Admin batch action (was onclick="modelActions.execute(...)")
     a[data-inline-field]      adds an inline form row (was onclick="faForm.addInlineField(this, id)")
     button[data-confirm]      asks before submitting (was onclick="return faHelpers.safeConfirm(...)")
     [data-print]              prints the page (was onclick="window.print()") */
(function () {
  'use strict';

  function closest(event, selector) {
    return event.target instanceof Element ? event.target.closest(selector) : null;
  }

  document.addEventListener('click', function (event) {
    if (closest(event, 'a[href="#"]')) event.preventDefault();
    var ask = closest(event, 'button[data-confirm]');
    if (ask && !window.confirm(ask.getAttribute('data-confirm'))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener('click', function (event) {
    var action = closest(event, 'a[data-action]');
    if (action && window.modelActions) {
      window.modelActions.execute(action.getAttribute('data-action'));
      return;
    }
    var inline = closest(event, 'a[data-inline-field]');
    if (inline && window.faForm) {
      window.faForm.addInlineField(inline, inline.getAttribute('data-inline-field'));
      return;
    }
    if (closest(event, '[data-print]')) window.print();
  });
})();
