"""Ingestion: the raw tables, their checks, the ingestion schedules and the landing sensor."""
