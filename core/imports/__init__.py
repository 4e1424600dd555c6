"""Past purchases from a POS export: rows read and checked, then recorded in batches
through the same use cases as a sale at the counter.
"""

from core.imports.batches import import_rows
from core.imports.rows import HEADER, OPTIONAL, BadHeader, ImportReport, read_rows

__all__ = [
    "BadHeader",
    "HEADER",
    "ImportReport",
    "OPTIONAL",
    "import_rows",
    "read_rows",
]
