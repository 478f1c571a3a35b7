"""The code location's definitions, one package per domain.

Each domain keeps the same file names (`assets.py`, `checks.py`, `jobs.py`, `schedules.py`,
`sensors.py`) where it has them; what domains share is in `orchestration/shared.py`.
"""
