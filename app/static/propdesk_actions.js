/* Batch actions on every row the current filters match, not only the ticked rows of this page.
   Wraps Flask-Admin's modelActions.execute: with "全部筛选结果" ticked, the action form is posted to the
   list's own query string (so the server sees the same filters) with all_filtered=1, after a confirmation
   that states the count. */
(function () {
  if (typeof modelActions === 'undefined') return;
  var box = document.getElementById('all-filtered');
  if (!box) return;
  var original = modelActions.execute;
  modelActions.execute = function (name) {
    if (!box.checked) return original.call(modelActions, name);
    var count = box.getAttribute('data-count');
    var label = $('a[data-action="' + name + '"]').first().text().trim() || name;
    var question = box.getAttribute('data-confirm').replace('{count}', count).replace('{action}', label);
    if (!confirm(question)) return false;
    var form = $('#action_form');
    $('#action', form).val(name);
    $('input.action-checkbox', form).remove();
    $('input[name=all_filtered]', form).remove();
    form.append('<input type="hidden" name="all_filtered" value="1">');
    form.attr('action', form.attr('action').split('?')[0] + window.location.search);
    form.submit();
    return false;
  };
})();
