"""Reading tables from spreadsheets, and the row-level error workbook, for every app's imports.

    with sheets.open_table(path, {"姓名": "name", "身份证号码": "id_number"}, required={"name"}) as table:
        if table.header_problems: ...            # RowErrors for row 1; import nothing
        for batch in table.batches(5000):       # lists of (row number as Excel shows it, {field: value})
            ...
        for number, values in table.rows():    # or one row at a time

- .xlsx/.xlsm are streamed (zipfile, expat and a checked fast path, below): memory stays flat whatever
  the sheet's size (bar a shared-strings table, kept compact), where python-calamine would hold the
  whole sheet (~320 MB for 200,000 rows × 20 columns). A workbook the stream does not understand (not
  a zip, encrypted, no worksheet where expected) falls back to python-calamine, which also reads
  .xls/.ods. Values are those python-calamine gives (it is the reference in the tests). A sheet
  damaged part-way raises SheetError when the reading gets there, after the rows before the damage
  have been handed on.
- .csv is read as UTF-8 (with or without BOM), else as GB18030, which is what Excel on a Chinese
  Windows writes as "CSV".
- Headers are matched by name in any order, after NFKC (full-width → half-width) and removing spaces
  and the "*" that templates put on required columns. The header row is the first row, among the
  first few, that names a known column (a title row above the table is common in government sheets).
  An unknown or repeated header, or a missing required one, is a header problem: a mistyped column is
  reported, never silently dropped.
- Values pass through as read: numbers are floats, text str, TRUE/FALSE bool, empty and error cells
  "". A number in a date-formatted cell is a date/datetime/time (a duration format: timedelta), as
  python-calamine gives it; a plain number stays a number (an Excel serial date too; the app's cleaner
  knows what a number means in its date column). Blank rows are skipped.
- ErrorWorkbook writes 行号 / 列 / 值 / 问题 plus a summary sheet, streaming (constant memory), so any
  app's import hands back the same workbook.

Knows nothing of any domain: the app gives the header → field map and cleans the values.

Layout: table.py (Table, header matching, RowError, SheetError), opening.py (open_table: which
reader a file goes to), xlsx.py and xlsxvalues.py (the streamed .xlsx/.xlsm reader, and what a
cell's text means), calamine.py (.xls/.ods and the .xlsx fallback), csvfile.py (CSV and its
encoding), workbook.py (ErrorWorkbook).
"""

from yanglao.core.sheets.opening import (  # noqa: F401
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    STREAMED_SUFFIXES,
    SUFFIXES,
    open_table,
)
from yanglao.core.sheets.table import (  # noqa: F401
    HEADER_SEARCH_ROWS,
    RowError,
    SheetError,
    Table,
    display,
    normalize_header,
)
from yanglao.core.sheets.workbook import ERROR_COLUMNS, ErrorWorkbook  # noqa: F401
