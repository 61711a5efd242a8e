-- The migrations environment: the database, and the models autogenerate compares with.
return {
  url = "sqlite:///blog.db",  -- QS_DATABASE_URL or --url override it
  target_metadata = require("models").Base.metadata,
  version_table = "alembic_version",
}
