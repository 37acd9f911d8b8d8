# "2026-11-28 12:51:03": the admin's lists and a job's page say when to the second (issue 85).
DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s"
