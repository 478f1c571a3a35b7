"""Monitoring: alerts on failed runs, and the sensor that logs overdue assets."""
