"""``table(...)``: data handed to a flow step in ``run(overrides=...)``, as reference
003's samples give a step its collection.

A step's inputs are files (its instances). ``table`` turns what a script has in
hand into such files: paths or globs are kept as they are; rows (a list of dicts,
a list of lists with ``columns``, or anything with ``to_csv``, such as a pandas
DataFrame) are written to one CSV file, which the step then takes as its only
instance. The file lives in ``folder`` (default: a new folder under the system's
temporary one), named after a hash of its content, so the same table is one file.
"""

import csv
import hashlib
import io
import os
import tempfile
from pathlib import Path

from .flow_graph import FlowError


def table(data, columns: list[str] | None = None, *, name: str = "table",
          folder: str | os.PathLike | None = None) -> list[str]:
    """The files a step takes as its instances (see the module's docstring)."""
    if isinstance(data, str | os.PathLike):
        return [os.fspath(data)]
    if hasattr(data, "to_csv"):
        text = data.to_csv(index=False)
    elif isinstance(data, list | tuple):
        if all(isinstance(item, str | os.PathLike) for item in data) and data:
            return [os.fspath(item) for item in data]
        text = _rows_csv(list(data), columns)
    else:
        raise FlowError(f"table() takes files, rows (dicts or lists) or a DataFrame, not "
                        f"{type(data).__name__}")
    if not name.replace("-", "").replace("_", "").isalnum():
        raise FlowError(f"a table's name is letters, digits, '-' and '_', not {name!r}")
    where = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="runyard-"))
    where.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = where / f"{name}-{digest}.csv"
    path.write_text(text)
    return [str(path)]


def _rows_csv(rows: list, columns: list[str] | None) -> str:
    out = io.StringIO()
    if rows and all(isinstance(row, dict) for row in rows):
        header = columns or list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    elif all(isinstance(row, list | tuple) for row in rows):
        writer = csv.writer(out)
        if columns:
            writer.writerow(columns)
        writer.writerows(rows)
    else:
        raise FlowError("table() rows are all dicts, or all lists with columns=[...]")
    return out.getvalue()
