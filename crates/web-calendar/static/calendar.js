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
