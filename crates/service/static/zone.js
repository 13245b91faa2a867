// Pages work without this script. With it, the site learns the browser's
// time zone (a cookie, no reload) and shows times in it from the next page.
(function () {
  if (document.cookie.split('; ').some(function (c) { return c.indexOf('almanac_tz=') === 0; })) return;
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (zone) document.cookie = 'almanac_tz=' + encodeURIComponent(zone) + '; path=/; max-age=31536000; samesite=lax';
})();
