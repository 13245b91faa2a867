// The web calendar works without this script. With it, the calendar shows
// times in the browser's own time zone from the first visit.
(function () {
  if (document.cookie.split('; ').some(function (c) { return c.indexOf('almanac_tz=') === 0; })) return;
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  document.cookie = 'almanac_tz=' + encodeURIComponent(zone) + '; path=/; max-age=31536000; samesite=lax';
  if (!/[?&]tz=/.test(location.search)) location.reload();
})();

// Keyboard shortcuts, in the common convention: the links and fields that
// have one say so in aria-keyshortcuts (t today, j/n later, k/p earlier,
// m/w/d/a views, c new event, / search). Typing in a field, or with a
// modifier key, is left alone.
document.addEventListener('keydown', function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  var target = event.target;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  var targets = document.querySelectorAll('a[aria-keyshortcuts], input[aria-keyshortcuts]');
  for (var i = 0; i < targets.length; i++) {
    if (targets[i].getAttribute('aria-keyshortcuts').split(' ').indexOf(event.key) >= 0) {
      event.preventDefault();
      if (targets[i].tagName === 'INPUT') targets[i].focus();
      else location.href = targets[i].href;
      return;
    }
  }
});
