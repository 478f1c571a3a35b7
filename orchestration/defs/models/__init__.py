"""Models: the dbt project as assets, and the sensor that rebuilds them by automation."""
