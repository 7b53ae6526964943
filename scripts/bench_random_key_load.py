"""Stand-alone SQLite test: random-key unique indexes kept during a bulk load, or built after.

Decision 0017's figures. Rows of (id, a scrambled 10-character code, an ID type and a
64-character hash, 200 bytes of padding), written in commits of 5,000 rows into a WAL
database in /dev/shm with a 64 MB page cache. `inline`: both keys are the table's UNIQUE
constraints during the load; `after`: plain columns, then CREATE UNIQUE INDEX on each, with
SQLite's sorter given THREADS helper threads (`PRAGMA threads`, default 0; decision 0018).

    python scripts/bench_random_key_load.py 1000000 inline
    python scripts/bench_random_key_load.py 4000000 after
    python scripts/bench_random_key_load.py 4000000 after 1

An experiment, not a named benchmark: it measures SQLite, not Tongxin.
"""

import hashlib
import os
import sqlite3
import sys
import time

BATCH = 5000


def main(rows: int, mode: str, threads: int = 0) -> None:
    path = f"/dev/shm/random_key_load_{rows}_{mode}.db"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-65536")
    db.execute(f"PRAGMA threads={threads}")
    keys = "code TEXT UNIQUE, idt TEXT, h TEXT, pad TEXT, UNIQUE (idt, h)"
    plain = "code TEXT, idt TEXT, h TEXT, pad TEXT"
    db.execute(f"CREATE TABLE r (id INTEGER PRIMARY KEY, {keys if mode == 'inline' else plain})")
    pad = "x" * 200
    started = time.perf_counter()
    for first in range(0, rows, BATCH):
        batch = []
        for i in range(first, min(rows, first + BATCH)):
            number = (i * 0x5DEECE66D + 7 * 0x9E3779B1) % (1 << 40)  # as the demo's codes
            digest = hashlib.sha256(str(i).encode()).hexdigest()
            batch.append((f"{number:010x}", "id_card", digest, pad))
        db.execute("BEGIN")
        db.executemany("INSERT INTO r (code, idt, h, pad) VALUES (?, ?, ?, ?)", batch)
        db.execute("COMMIT")
    loaded = time.perf_counter() - started
    if mode == "after":
        db.execute("CREATE UNIQUE INDEX u_code ON r (code)")
        db.execute("CREATE UNIQUE INDEX u_hash ON r (idt, h)")
    total = time.perf_counter() - started
    db.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    print(
        f'{{"rows": {rows}, "mode": "{mode}", "threads": {threads}, "load_s": {loaded:.1f},'
        f' "index_s": {total - loaded:.1f}, "total_s": {total:.1f},'
        f' "us_per_row": {total / rows * 1e6:.2f}}}'
    )


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or sys.argv[2] not in ("inline", "after"):
        sys.exit("usage: bench_random_key_load.py ROWS inline|after [THREADS]")
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 0)
