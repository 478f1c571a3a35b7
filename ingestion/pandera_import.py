"""pandera, imported without the import of pyspark.pandas it makes when pyspark is there.

With the Spark engine installed, `import pandera` tries `import pyspark.pandas`, so that
pyspark's patches of pandas precede pandera's own types. Here that import fails anyway
(pyspark's pandas API needs pyarrow, which the project does not install), after 0.2-0.4 s
of loading setuptools' distutils, in every process that validates a frame. pandera takes
the failure as "no pyspark", so it is made at once: the import is refused while pandera
loads, and only then.
"""

import sys

_SKIPPED = "pyspark.pandas"
_skip = _SKIPPED not in sys.modules
if _skip:
    sys.modules[_SKIPPED] = None  # type: ignore[assignment]  # None: import raises
try:
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors
finally:
    if _skip and _SKIPPED in sys.modules and sys.modules[_SKIPPED] is None:
        del sys.modules[_SKIPPED]

__all__ = ["SchemaErrors", "pa"]
