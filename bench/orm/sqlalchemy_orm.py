# sqlalchemy_orm.py: the ORM workloads through SQLAlchemy 1.4's ORM (2.0 style).
# Usage: python3 sqlalchemy_orm.py FILE ROWS GETS UPDATES PARENTS [MODE]
#   MODE "time" (default), "memory", "baseline": as in quicksilver_orm.lua.
import gc, sys, time
from sqlalchemy import create_engine, Column, Integer, String, Float, ForeignKey, select, text
from sqlalchemy.orm import declarative_base, relationship, Session, selectinload, joinedload

path, rows, gets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
updates, parents = int(sys.argv[4]), int(sys.argv[5])
mode = sys.argv[6] if len(sys.argv) > 6 else "time"
Base = declarative_base()

class Customer(Base):
    __tablename__ = "customer"
    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False)
    orders = relationship("Order", back_populates="customer")

class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customer.id"))
    qty = Column(Integer)
    price = Column(Float)
    note = Column(String(100))
    customer = relationship("Customer", back_populates="orders")

engine = create_engine("sqlite:///" + path, future=True)


def peak_rss_kib():
    """The kernel's peak resident set of this process (VmHWM), in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])


def touch(o):
    o.price, o.note, o.customer_id
    return o.id + o.qty


def touch_children(customers):
    n = 0
    for c in customers:
        c.name
        for o in c.orders:
            touch(o)
            n += 1
    return n


def timed(key, fn):
    # the garbage of the workloads before is collected first, off the clock
    # (as the Lua script does); reference counting frees most of it at once
    gc.collect()
    s = Session(engine, future=True)
    t0 = time.perf_counter()
    fn(s)
    print("%s %.6f" % (key, time.perf_counter() - t0))
    s.close()


def run_memory():
    s = Session(engine, future=True)
    total = 0
    everything = s.scalars(select(Order)).all()  # keeps every object alive
    for o in everything:
        total += touch(o)
    assert len(everything) == rows, "memory: expected %d orders, found %d" % (rows, len(everything))
    print("mem_peak %d.0" % peak_rss_kib())
    s.close()


def run_baseline():
    s = Session(engine, future=True)
    assert s.get(Order, 1) is not None, "baseline: the file has no orders (run mode time first)"
    print("mem_base %d.0" % peak_rss_kib())
    s.close()


def run_time():
    Base.metadata.create_all(engine)
    ncust = max(1, rows // 10)
    total = [0]

    def insert(s):
        for i in range(1, ncust + 1):
            c = Customer(name="customer %d" % i)
            c.orders = [Order(qty=j, price=j * 0.5, note="a note") for j in range(1, 11)]
            s.add(c)
        s.commit()
    timed("orm_insert", insert)

    def load(s):
        for o in s.scalars(select(Order)).all():
            total[0] += touch(o)
    timed("orm_load", load)

    def update(s):
        for o in s.scalars(select(Order).order_by(Order.id).limit(updates)).all():
            o.qty = o.qty + 1
        s.commit()
    timed("orm_update", update)

    def get(s):
        for i in range(1, gets + 1):
            total[0] += s.get(Order, (i * 7919) % rows + 1).qty
    timed("orm_get", get)

    def get_select(s):
        for i in range(1, gets + 1):
            k = (i * 7919) % rows + 1
            total[0] += s.execute(select(Order).where(Order.id == k)).scalar_one().qty
    timed("orm_get_select", get_select)

    # the foreign-key index, untimed (as in quicksilver_orm.lua)
    with engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_orders_customer_id ON orders (customer_id)"))
    first = Customer.id <= parents
    timed("orm_selectin", lambda s: touch_children(
        s.scalars(select(Customer).where(first).options(selectinload(Customer.orders))).all()))
    timed("orm_joined", lambda s: touch_children(
        s.scalars(select(Customer).where(first).options(joinedload(Customer.orders))).unique().all()))
    timed("orm_lazy", lambda s: touch_children(s.scalars(select(Customer).where(first)).all()))


{"time": run_time, "memory": run_memory, "baseline": run_baseline}[mode]()
engine.dispose()
