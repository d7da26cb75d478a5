"""Tabular training logs in the spirit of baselines ``logger`` (stdout table + progress.csv).

``record(key, value)`` collects one row; ``dump()`` prints it as baselines'
box table and appends it to ``progress.csv`` (rewriting the file with the
wider header when a new key appears, as baselines' CSVOutputFormat does).
"""
import csv
import os
import sys


class Logger:
    def __init__(self, log_dir=None, stream=sys.stdout):
        self.dir = log_dir
        self.stream = stream
        self.row = {}
        self.keys = []
        self.csv_path = None
        if log_dir is not None:
            os.makedirs(log_dir, exist_ok=True)
            self.csv_path = os.path.join(log_dir, "progress.csv")
            if os.path.exists(self.csv_path):  # resuming: keep earlier rows and their header
                with open(self.csv_path, newline="") as fh:
                    header = next(csv.reader(fh), None)
                self.keys = list(header or [])

    def record(self, key, value):
        self.row[key] = value

    def dump(self):
        if not self.row:
            return
        if self.stream is not None:
            self.stream.write(format_table(self.row))
            self.stream.flush()
        if self.csv_path is not None:
            self._write_csv()
        self.row = {}

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
