"""Many exact runs, one answer: sweeps, repeated trials with confidence intervals, SLA search."""
