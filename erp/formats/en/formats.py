"""English dates as merchants and suppliers write them in order systems: 2026-11-29 23:29, not "Nov. 29, 2026,
11:29 p.m." (Chinese keeps Django's own, 2026年11月29日 23:29)."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "F j"
YEAR_MONTH_FORMAT = "F Y"
