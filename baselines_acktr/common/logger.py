"""Training logs in the spirit of baselines ``logger``: stdout table, progress.csv,
TensorBoard scalars, and a live progress line.

``record(key, value)`` collects one row; ``dump(step)`` prints it as baselines'
box table, appends it to ``progress.csv`` (rewriting the file with the wider
header when a new key appears, as baselines' CSVOutputFormat does) and, with
``tensorboard=True``, writes every numeric value as a scalar at ``step``
(timesteps) under ``<log_dir>/tb``.  ``record_tb(key, value)`` adds a scalar for
TensorBoard alone (diagnostics that are not baselines' log keys).
"""
import csv
import io
import math
import os
import sys
import time

from .run_folder import write_text_atomic


class Logger:
    """``keep_until``: in an existing ``progress.csv``, drop the rows whose
    ``total_timesteps`` exceed this: a resumed run passes its checkpoint's timesteps, so
    that the file continues without duplicated updates; a fresh run passes 0 and starts the
    file anew, as baselines' logger does (the rows of an earlier attempt in the same folder
    would otherwise come before its own)."""

    def __init__(self, log_dir=None, stream="stdout", tensorboard=False, keep_until=None):
        self.dir = log_dir
        stream = sys.stdout if stream == "stdout" else stream  # None: no table
        self.tb = None
        if tensorboard:
            if log_dir is None:
                raise ValueError("tensorboard=True needs a log_dir")
            import tensorflow as tf

            self.tb = tf.summary.create_file_writer(os.path.join(log_dir, "tb"))
        self.stream = stream
        self.row = {}
        self.tb_row = {}
        self.keys = []
        self.csv_path = None
        if log_dir is not None:
            os.makedirs(log_dir, exist_ok=True)
            self.csv_path = os.path.join(log_dir, "progress.csv")
            if os.path.exists(self.csv_path):  # resuming: keep earlier rows and their header
                with open(self.csv_path, newline="") as fh:
                    header = next(csv.reader(fh), None)
                self.keys = list(header or [])
                if keep_until is not None:
                    drop_rows_after(self.csv_path, keep_until)

    def record(self, key, value):
        self.row[key] = value

    def record_tb(self, key, value):
        """A scalar written to TensorBoard at the next :meth:`dump`, not to the table or CSV."""
        self.tb_row[key] = value

    def dump(self, step=None):
        if not self.row:
            self.tb_row = {}
            return
        if self.stream is not None:
            self.stream.write(format_table(self.row))
            self.stream.flush()
        if self.csv_path is not None:
            self._write_csv()
        if step is not None:
            self.scalars({**self.row, **self.tb_row}, step)
        self.row, self.tb_row = {}, {}

    def scalars(self, values, step):
        """Write the numbers among ``values`` to TensorBoard at ``step`` (timesteps) now,
        not to the table or CSV (evaluations during training); nothing without
        ``tensorboard=True``."""
        if self.tb is None:
            return
        import tensorflow as tf

        with self.tb.as_default():
            for k, v in values.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    tf.summary.scalar(k, float(v), step=int(step))
        self.tb.flush()

    def close(self):
        if self.tb is not None:
            self.tb.close()
            self.tb = None

    def _write_csv(self):
        new = [k for k in self.row if k not in self.keys]
        if new:
            old_rows = []
            if os.path.exists(self.csv_path) and self.keys:
                with open(self.csv_path, newline="") as fh:
                    old_rows = list(csv.DictReader(fh))
            self.keys += new
            with open(self.csv_path, "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=self.keys)
                w.writeheader()
                w.writerows(old_rows)
        with open(self.csv_path, "a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=self.keys).writerow(
                {k: self.row.get(k, "") for k in self.keys})


def drop_rows_after(csv_path, timesteps):
    """Rewrite ``progress.csv`` without its rows whose ``total_timesteps`` exceed
    ``timesteps`` (None: keep all)."""
    if timesteps is None:
        return
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        keys, rows = reader.fieldnames or [], list(reader)
    kept = [r for r in rows if _float(r.get("total_timesteps")) <= timesteps]
    if len(kept) == len(rows):
        return
    out = io.StringIO(newline="")
    w = csv.DictWriter(out, fieldnames=keys)
    w.writeheader()
    w.writerows(kept)
    write_text_atomic(csv_path, out.getvalue())


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("-inf")  # a row without timesteps is kept


def _fmt(v):
    if isinstance(v, float):
        return f"{v:<8.3g}"
    return str(v)


def format_table(row):
    keys = list(row)
    vals = [_fmt(row[k]) for k in keys]
    kw = max(len(k) for k in keys)
    vw = max(len(v) for v in vals)
    dashes = "-" * (kw + vw + 7)
    lines = [dashes] + [f"| {k:<{kw}} | {v:<{vw}} |" for k, v in zip(keys, vals)] + [dashes]
    return "\n".join(lines) + "\n"


class ProgressLine:
    """A one-line live display: timesteps, fps, eprewmean and ETA.

    Called as ``progress(timesteps, total_timesteps, fps, eprewmean)`` after every
    update.  On a terminal the line is rewritten in place at most every
    ``interval`` seconds; otherwise (log files, CI) a plain line is printed every
    ``interval_plain`` seconds.
    """

    def __init__(self, stream=None, interval=1.0, interval_plain=60.0):
        self.stream = stream = sys.stderr if stream is None else stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = interval if self.tty else interval_plain
        self.last = 0.0

    def __call__(self, timesteps, total, fps, eprewmean):
        now = time.time()
        final = timesteps >= total
        if now - self.last < self.interval and not final:
            return
        self.last = now
        eta = max(total - timesteps, 0) / fps if fps > 0 else float("inf")
        rew = "n/a" if eprewmean is None or (isinstance(eprewmean, float) and math.isnan(eprewmean)) \
            else f"{eprewmean:.2f}"
        line = (f"[{timesteps:,}/{total:,} timesteps] "
                f"fps {fps}  eprewmean {rew}  ETA {_hms(eta)}")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _hms(seconds):
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
