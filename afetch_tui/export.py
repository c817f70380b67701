"""``afetch export``: write the dashboard's queue out in aria2's input-file format."""

from __future__ import annotations

import argparse
import sys

from afetch_tui.engine import (
    InputEntry,
    Record,
    State,
    StoreError,
    format_entries,
    inert,
    read_records,
    unwritable,
)


def to_entry(record: Record) -> InputEntry:
    return InputEntry(
        url=record.url,
        line=0,
        out=record.requested_name or record.name,
        dir=record.directory,
        headers=dict(record.headers),
        limit_rate=str(int(record.limit_rate)) if record.limit_rate else None,
    )


def run_export(args: argparse.Namespace) -> int:
    try:
        unreadable: list[str] = []
        records = read_records(args.state, unreadable)
    except StoreError as exc:
        print(f"afetch: {exc}", file=sys.stderr)
        return 1
    for line in unreadable:
        print(f"afetch: {inert(line)}", file=sys.stderr)
    chosen = [r for r in records if args.all or r.state != State.COMPLETED.value]
    entries, skipped = [], 0
    for record in chosen:
        entry = to_entry(record)
        problem = unwritable(entry)
        if problem is None:
            entries.append(entry)
        else:
            skipped += 1
            print(f"afetch: download {record.id} not exported: {inert(problem)}", file=sys.stderr)
    text = format_entries(entries)
    if args.file == "-":
        sys.stdout.write(text)
    else:
        try:
            with open(args.file, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:
            print(f"afetch: cannot write {args.file}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    print(f"afetch: exported {len(entries)} downloads", file=sys.stderr)
    return 1 if skipped else 0
