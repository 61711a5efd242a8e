# raw_psycopg2.py: the PostgreSQL floor for Python, the Core workloads straight
# on psycopg2 (Debian's python3-psycopg2; run with /usr/bin/python3).
# Usage: python3 raw_psycopg2.py URL ROWS GETS
# Inserts go through psycopg2.extras.execute_values (multi-row INSERT ... VALUES,
# 1,000 rows a statement), which is how psycopg2 users insert in bulk and what
# SQLAlchemy 1.4's psycopg2 dialect does for executemany by default; plain
# cursor.executemany() is one round trip per row. Ordinary client-side cursors
# (the whole result is fetched by execute), no server-side cursors.
import gc, sys, time
import psycopg2
import psycopg2.extras

url, rows, gets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = time.monotonic
conn = psycopg2.connect(url)
cur = conn.cursor()
cur.execute("DROP TABLE IF EXISTS item")
cur.execute("CREATE TABLE item (id SERIAL PRIMARY KEY, name VARCHAR(40) NOT NULL, "
            "qty INTEGER, price FLOAT, note VARCHAR(100))")
conn.commit()
params = [("item %d" % i, i, i * 0.5, "a note") for i in range(1, rows + 1)]
gc.collect()   # each workload starts on a collected heap (every script does)
t0 = now()
psycopg2.extras.execute_values(cur, "INSERT INTO item (name, qty, price, note) VALUES %s",
                               params, page_size=1000)
conn.commit()
print("insert %.6f" % (now() - t0))
del params
gc.collect()   # each workload starts on a collected heap (every script does)
t0 = now()
total = 0
cur.execute("SELECT id, name, qty, price, note FROM item")
for id_, name, qty, price, note in cur:
    total += id_ + qty
print("load %.6f" % (now() - t0))
gc.collect()
t0 = now()
for i in range(1, gets + 1):
    cur.execute("SELECT id, name, qty, price, note FROM item WHERE id = %s", ((i * 7919) % rows + 1,))
    total += cur.fetchone()[2]
print("get %.6f" % (now() - t0))
conn.commit()
conn.close()
