# sqlalchemy_core.py: the Core workloads through SQLAlchemy 1.4 (Debian's
# python3-sqlalchemy; run with /usr/bin/python3).
# Usage: python3 sqlalchemy_core.py TARGET ROWS GETS BUILDS
# TARGET: a SQLite file, or a server URL (postgresql://..., through psycopg2),
# where the table a previous run left is dropped first. BUILDS 0 skips build + compile.
import gc, sys, time
import sqlalchemy as sa

target, rows, gets, builds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
now = time.monotonic
is_url = "://" in target
engine = sa.create_engine(target if is_url else "sqlite:///" + target, future=True)
md = sa.MetaData()
item = sa.Table("item", md,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("qty", sa.Integer), sa.Column("price", sa.Float), sa.Column("note", sa.String(100)))
if is_url:
    md.drop_all(engine)
md.create_all(engine)
params = [{"name": "item %d" % i, "qty": i, "price": i * 0.5, "note": "a note"} for i in range(1, rows + 1)]
gc.collect()   # each workload starts on a collected heap (every script does)
t0 = now()
with engine.begin() as conn:
    conn.execute(item.insert(), params)
print("insert %.6f" % (now() - t0))
# every workload starts on a collected heap, off the clock (each script does
# the same): the rows' parameters are a workload's, not the next one's
del params
gc.collect()
c = item.c
with engine.connect() as conn:
    t0 = now()
    total = 0
    for row in conn.execute(sa.select(item)):
        total += row.id + row.qty
        _ = (row.name, row.price, row.note)
    print("load %.6f" % (now() - t0))
    gc.collect()
    t0 = now()
    for i in range(1, gets + 1):
        r = conn.execute(sa.select(item).where(c.id == (i * 7919) % rows + 1)).first()
        total += r.qty
    print("get %.6f" % (now() - t0))
if builds == 0:
    sys.exit(0)
# build + compile through SQLAlchemy's compiled cache, as execution does
d = engine.dialect
cache = sa.util.LRUCache(500)
gc.collect()
t0 = now()
for i in range(1, builds + 1):
    s = sa.select(c.id, c.name).where(c.name == "item %d" % i, c.qty > i).order_by(c.id).limit(10)
    s._compile_w_cache(d, compiled_cache=cache, column_keys=[], for_executemany=False,
                       schema_translate_map=None)
print("build_compile %.6f" % (now() - t0))
