"""Python's cyclic garbage collector in the processes of a run (orchestration.run and the
warm dbt process's forks).

A full collection walks every object the process holds. After Dagster, dbt and pandas are
imported that is several hundred thousand objects, none of them garbage, and the imports
themselves set off such collections again and again as the heap grows: a nightly refresh
spent about 0.6 s of its own process and 0.85 s of the warm process in collections that
freed almost nothing, and 0.35 s of the build's dbt collecting dbt's own cycles
(bench/hotspots.md). So the imports run with the collector paused, what they left is
frozen (the collector skips it from then on), and the collector resumes for the work that
makes garbage worth collecting: the loads, the Dagster run. A dbt command's fork keeps it
paused; what it leaves goes with the process (orchestration.warm_dbt_server).
"""

import gc


def pause() -> None:
    """Stop automatic collections while this process imports what it will keep."""
    gc.disable()


def keep_what_exists() -> None:
    """Set every object alive now aside from later collections: they stay until the
    process ends anyway, and a fork keeps sharing their memory pages with its parent."""
    gc.freeze()


def resume() -> None:
    """Collections again, over what is created from now on. Nothing to do when the
    collector was not paused (a caller that runs `orchestration.run.main` in its own
    process keeps its own setting)."""
    if gc.isenabled():
        return
    keep_what_exists()
    gc.enable()
