# sqlalchemy_orm.py: the ORM workloads through SQLAlchemy 1.4's ORM (2.0 style).
# Usage: python3 sqlalchemy_orm.py FILE ROWS GETS
import sys, time
from sqlalchemy import create_engine, Column, Integer, String, Float, ForeignKey, select
from sqlalchemy.orm import declarative_base, relationship, Session, selectinload

path, rows, gets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
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
Base.metadata.create_all(engine)
ncust = max(1, rows // 10)

s = Session(engine, future=True)
t0 = time.perf_counter()
for i in range(1, ncust + 1):
    c = Customer(name="customer %d" % i)
    c.orders = [Order(qty=j, price=j * 0.5, note="a note") for j in range(1, 11)]
    s.add(c)
s.commit()
print("orm_insert %.6f" % (time.perf_counter() - t0))
s.close()

s = Session(engine, future=True)
t0 = time.perf_counter()
total = 0
for o in s.scalars(select(Order)).all():
    total += o.id + o.qty
    o.price, o.note, o.customer_id
print("orm_load %.6f" % (time.perf_counter() - t0))

t0 = time.perf_counter()
for o in s.scalars(select(Order)).all():
    o.qty = o.qty + 1
s.commit()
print("orm_update %.6f" % (time.perf_counter() - t0))
s.close()

s = Session(engine, future=True)
t0 = time.perf_counter()
for i in range(1, gets + 1):
    o = s.get(Order, (i * 7919) % rows + 1)
    total += o.qty
print("orm_get %.6f" % (time.perf_counter() - t0))
s.close()

s = Session(engine, future=True)
t0 = time.perf_counter()
n = 0
for c in s.scalars(select(Customer).options(selectinload(Customer.orders))).all():
    n += len(c.orders)
print("orm_selectin %.6f" % (time.perf_counter() - t0))
s.close()
