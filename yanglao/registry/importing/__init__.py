"""Importing elders from Excel/CSV, and life events from another department's file (DOMAIN.md §1).

Every row is cleaned by validation.clean_facts, the cleaner of the form and the API, so a file is held
to the same rules; the good rows are written and the others come back in an error workbook (row,
column, value, problem). Elders are matched by ID number (its keyed hash): a new number is created,
a known one updated where a filled-in cell differs from what is stored (a blank cell changes nothing),
and a row that would change nothing writes nothing, so importing a file twice changes nothing.

The work is set-based (DESIGN.md rule 7): rows are read and written in batches, each batch one
transaction with one audit row, one query to find the batch's known elders, and one INSERT for its
new ones. Values that repeat from row to row (community codes, enumerations, yes/no columns) are
cleaned once per distinct value by the same clean_facts; only the values that differ on every row
(name, ID and phone numbers, address) are cleaned per row.

Memory stays small whatever the file's size: rows are read one at a time, and a row waiting for its
batch keeps only what writing it needs (~1 KB). What grows with the file is 12 bytes a person (to name
the row where a repeated ID number first appeared), the caches of cleaned values up to their limit and
the problems kept for the result; on the benchmark's 200,000 rows the peak is ~18 MB above the process,
against ~59 MB for openpyxl with the form's checks.
"""

from yanglao.core import sheets  # noqa: F401  (callers reach the reader through the importer)
from yanglao.registry.importing.common import (  # noqa: F401
    EVENT_HEADERS,
    EVENT_REQUIRED,
    HEADERS,
    IMPORTABLE_EVENTS,
    LABELS,
    REQUIRED,
    ImportResult,
    identity_problems,
)
from yanglao.registry.importing.elders import BATCH_SIZE, elders_import  # noqa: F401
from yanglao.registry.importing.events import events_import  # noqa: F401
from yanglao.registry.importing.template import TEMPLATE_FILE_NAME, template_workbook  # noqa: F401
