"""Early warning: daily counts of dispatch reasons (by station) and of critical/urgent ECG
classes (region-wide), tested every day against their recent baseline with EARS C2;
`SurveillanceAlertRaised` when a count stands out (stats.py has the statistic)."""
