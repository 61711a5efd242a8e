/*
** fields.h: the field names the C compiler (the .c files of c/compiler/) reads from the
** Lua tables it walks, in one list. nodes.h lists the node kinds and
** operators; this is the rest of the contract between the Lua node
** constructors (lua/quicksilver/sql/) and the compiler.
**
** X(name, carriers, form, meaning)
**   name      the field, as the compiler reads it (node.name, non-raw: a
**             field may sit on the node's class)
**   carriers  where it is read, space-separated: a node kind of nodes.h
**             (SELECT, BIND, ...), "node" (every node), or a table without
**             _k named by where it sits:
**               type        a type object (sql/types.lua: _is_type)
**               options     core.compile's third argument
**               for_update  the table at a SELECT's _for_update
**               on_conflict the table at an INSERT's _on_conflict
**               constraint  a constraint of CREATE TABLE / ADD CONSTRAINT
**               column_def  a column of CREATE TABLE / ADD COLUMN
**   form      what the compiler expects there: node, nodes (a list of
**             nodes), string, strings, boolean, number, table, type,
**             function, any; "a|b" when it depends on the carrier
**   meaning   what it is, for the reader
**
** Exported to Lua as core.node_fields[name] = {carriers = "...", form = ...,
** meaning = ...}. spec/contract_spec.lua fails when this list drifts from
** the field names the compiler's source reads, or from the tables the Lua
** constructors build. A field the compiler starts to read is added here in
** the same change.
*/
#ifndef QS_FIELDS_H
#define QS_FIELDS_H

#define QS_NODE_FIELDS(X)                                                                          \
  /* every node */                                                                                 \
  X(_k, "node", "number", "the node's kind (nodes.h QS_NODE_KINDS)")                               \
  X(_is_clause, "node", "boolean", "a SQL element (the cache key walks it, not keys it by identity)") \
  /* types */                                                                                      \
  X(_is_type, "type", "boolean", "a type object: keyed by identity in the cache key")              \
  X(_t, "type", "string", "the type's kind (INTEGER, VARCHAR, ...) for DDL, CAST and PostgreSQL bind casts") \
  X(_check, "type", "number", "how C checks a bound value (core.type_checks)")                     \
  X(_bind, "type", "function", "the Lua converter of a bound value")                               \
  X(length, "type", "number", "VARCHAR(n) / CHAR(n)")                                              \
  X(precision, "type", "number", "NUMERIC(p, s)")                                                  \
  X(scale, "type", "number", "NUMERIC(p, s)")                                                      \
  X(timezone, "type", "boolean", "a timestamp with time zone")                                     \
  X(collation, "type", "string", "COLLATE name of a string type")                                  \
  X(enums, "type CREATE_ENUM", "strings", "the values of an ENUM (MySQL's native ENUM, CREATE TYPE)") \
  X(enum_type, "type", "node", "a named enum's type name (PostgreSQL's CREATE TYPE ... AS ENUM)") \
  /* core.compile's options */                                                                     \
  X(literal_binds, "options VALUES", "boolean", "values inline instead of parameters")                    \
  X(ctes, "options", "nodes", "the CTEs the Lua front collected (WITH first)")                     \
  X(schema_translate_map, "options", "table", "schema name -> schema written (\"__none\": none)") \
  /* expressions */                                                                                \
  X(name, "TABLE COLUMN ALIAS CTE FUNCTION LABEL VALUES_REF CREATE_INDEX DROP_INDEX DROP_COLUMN "  \
          "RENAME_COLUMN ALTER_COLUMN DROP_CONSTRAINT constraint column_def NEXT_VALUE "           \
          "CREATE_SEQUENCE DROP_SEQUENCE CREATE_ENUM DROP_ENUM",                                   \
    "string", "the SQL name (identifier; a function's name)")                                      \
  X(schema, "TABLE NEXT_VALUE CREATE_SEQUENCE DROP_SEQUENCE CREATE_ENUM DROP_ENUM", "string",    \
    "the table's (sequence's, enum type's) schema")                                               \
  X(table, "COLUMN STAR INSERT UPDATE DELETE CREATE_INDEX DROP_INDEX", "node",                     \
    "the table a column belongs to / a statement targets")                                         \
  X(type, "BIND COLUMN CAST LABEL FUNCTION BINARY TYPE_COERCE column_def ALTER_COLUMN", "type",                \
    "the value type (result conversion, bind check, CAST target, column DDL)")                     \
  X(key, "BIND JSON_GET", "string|node", "a bind's key; a JSON path bind (SQLite, MySQL)")         \
  X(anon, "BIND", "boolean", "an anonymous bind: its name is generated (param_1)")                 \
  X(value, "BIND CASE", "any", "a bind's value; a simple CASE's operand")                          \
  X(text, "TEXT LITERAL_COLUMN", "string", "SQL text written as it is")                            \
  X(_defaults, "TEXT", "table", "values given by :bindparams(), by name")                          \
  X(_types, "TEXT", "table", "types given by :bindparams(), by name")                              \
  X(op, "BINARY UNARY LIST COMPOUND", "number|string",                                             \
    "the operator code (nodes.h QS_OPERATORS); a compound's UNION/INTERSECT/EXCEPT [ALL]")         \
  X(left, "BINARY IN JOIN JSON_GET", "node", "the left operand / FROM element")                    \
  X(right, "BINARY JOIN", "node", "the right operand / FROM element")                              \
  X(escape, "BINARY", "string", "LIKE's ESCAPE character")                                         \
  X(element, "UNARY GROUPING LABEL CAST BETWEEN SCALAR_SELECT EXISTS OVER ALIAS CTE TYPE_COERCE CREATE_TABLE " \
             "DROP_TABLE ADD_CONSTRAINT ADD_COLUMN DROP_COLUMN RENAME_TABLE ALTER_COLUMN "          \
             "RENAME_COLUMN DROP_CONSTRAINT COMMENT_ON",                                           \
    "node", "the wrapped element (operand, aliased table or SELECT, the DDL's table)")             \
  X(clauses, "LIST TUPLE", "nodes", "the members of AND / OR / a comma list / a tuple_()")                            \
  X(args, "FUNCTION", "nodes", "a function's arguments")                                           \
  X(whens, "CASE", "table", "the {condition, result} pairs")                                       \
  X(else_, "CASE", "node", "CASE's ELSE")                                                          \
  X(negate, "IN BETWEEN", "boolean", "NOT IN / NOT BETWEEN")                                       \
  X(select, "IN", "node", "IN (SELECT ...)")                                                       \
  X(values, "IN", "nodes", "IN (v, ...)")                                                          \
  X(expanding, "IN BIND", "node|boolean",                                                          \
    "IN's expanding bind (a list per execution, expand.c); on a BIND: it is one")                   \
  X(lower, "BETWEEN OVER", "node|string", "BETWEEN's lower bound; a window frame's start")         \
  X(upper, "BETWEEN OVER", "node|string", "BETWEEN's upper bound; a window frame's end")           \
  X(as, "JSON_GET", "string", "the as_*() conversion (string, integer, float, boolean)")           \
  X(mode, "JSON_GET", "string", "get (one key) or path")                                           \
  X(pg_key, "JSON_GET", "node", "the key, index or text[] path bind for PostgreSQL's -> / #>")     \
  X(sqlite_key, "JSON_GET", "node", "the path bind SQLite before 3.45 reads (a key holding '\"' unquoted); read raw, absent otherwise") \
  X(partition_by, "OVER", "nodes", "PARTITION BY")                                                 \
  X(order_by, "OVER", "nodes", "a window's ORDER BY")                                              \
  X(frame, "OVER", "string", "ROWS or RANGE")                                                      \
  X(recursive, "CTE", "boolean", "WITH RECURSIVE")                                                 \
  /* PostgreSQL ARRAY (sql/pg_types.lua, sql/pg_ops.lua) */                                        \
  X(item_type, "type", "type", "an ARRAY's element type")                                          \
  X(dimensions, "type", "number", "an ARRAY's dimensions (T[][] for 2)")                           \
  X(array, "ARRAY_INDEX ANY_ALL", "node", "the array subscripted / ANY (array) or ALL (array)")    \
  X(index, "ARRAY_INDEX", "node", "a subscript: arr[index], or a slice's start arr[index:stop]")  \
  X(stop, "ARRAY_INDEX", "node", "a slice's end (absent: one element)")                            \
  X(all, "ANY_ALL", "boolean", "ALL rather than ANY")                                              \
  X(items, "ARRAY_LITERAL", "nodes", "the members of ARRAY[...]")                                  \
  /* operators.c: op(), regexps, COLLATE, FILTER, WITHIN GROUP */                                  \
  X(opstring, "BINARY", "string", "op()'s operator, program text checked to be operator characters or words") \
  X(precedence, "BINARY", "number", "op()'s precedence (SQLAlchemy's numbers: 5 comparisons, 7 +, 8 *)") \
  X(flags, "BINARY", "string", "regexp flags (letters), written as a string literal")               \
  X(replacement, "BINARY", "node", "regexp_replace's replacement")                                  \
  X(collation_name, "UNARY", "string", "COLLATE's collation name (quoted as an identifier)")        \
  X(criterion, "UNARY", "node", "an aggregate's FILTER (WHERE ...)")                                 \
  X(group_order_by, "UNARY", "nodes", "WITHIN GROUP (ORDER BY ...)")                                 \
  X(windowed, "UNARY", "boolean", "a WITHIN GROUP under OVER (MariaDB has it only as a window function)") \
  /* FROM elements */                                                                              \
  X(onclause, "JOIN", "node", "ON")                                                                \
  X(isouter, "JOIN", "boolean", "LEFT OUTER JOIN")                                                 \
  X(full, "JOIN", "boolean", "FULL OUTER JOIN")                                                    \
  X(_lateral, "ALIAS", "boolean", "LATERAL (subquery)")                                            \
  X(_render_derived, "ALIAS", "boolean", "a table-valued function's AS name(col, ...)")            \
  X(_sample_method, "ALIAS", "node", "TABLESAMPLE method(n)")                                      \
  X(_sample_seed, "ALIAS", "node", "TABLESAMPLE's REPEATABLE (seed)")                              \
  /* SELECT and compounds */                                                                       \
  X(columns, "SELECT TABLE constraint ALIAS", "nodes|table|strings",                               \
    "a SELECT's columns; a CREATE TABLE's column_defs; a constraint's column names; an alias's .c") \
  X(_final_froms, "SELECT", "function", "the FROM list, derived lazily in Lua (called with the SELECT)") \
  X(_correlate, "SELECT", "nodes", "correlate(...): FROMs taken from the enclosing query")         \
  X(_correlate_except, "SELECT", "nodes", "correlate_except(...)")                                 \
  X(_distinct, "SELECT", "boolean", "SELECT DISTINCT")                                             \
  X(_distinct_on, "SELECT", "nodes", "DISTINCT ON (...) (PostgreSQL)")                             \
  X(_where, "SELECT UPDATE DELETE", "node", "WHERE")                                               \
  X(_group_by, "SELECT", "nodes", "GROUP BY")                                                      \
  X(_having, "SELECT", "node", "HAVING")                                                           \
  X(_order_by, "SELECT COMPOUND", "nodes", "ORDER BY")                                             \
  X(_limit, "SELECT COMPOUND", "node", "LIMIT")                                                    \
  X(_offset, "SELECT COMPOUND", "node", "OFFSET")                                                  \
  X(_fetch, "SELECT COMPOUND", "node", "FETCH FIRST n ROWS")                                       \
  X(_fetch_ties, "SELECT COMPOUND", "boolean", "FETCH FIRST n ROWS WITH TIES")                     \
  X(_fetch_percent, "SELECT COMPOUND", "boolean", "FETCH FIRST n PERCENT ROWS")                    \
  X(_prefixes, "SELECT INSERT UPDATE DELETE", "strings", "prefix_with(...) words")                 \
  X(_prefix_dialects, "SELECT INSERT UPDATE DELETE", "table", "per prefix index, the dialect it is for") \
  X(_suffixes, "SELECT", "strings", "suffix_with(...) words")                                      \
  X(_suffix_dialects, "SELECT", "table", "per suffix index, the dialect it is for")                \
  X(_for_update, "SELECT", "table", "FOR UPDATE options (for_update)")                             \
  X(read, "for_update", "boolean", "FOR SHARE / LOCK IN SHARE MODE")                               \
  X(nowait, "for_update", "boolean", "NOWAIT")                                                     \
  X(skip_locked, "for_update", "boolean", "SKIP LOCKED")                                           \
  X(key_share, "for_update", "boolean", "FOR NO KEY UPDATE / FOR KEY SHARE (PostgreSQL)")          \
  X(of, "for_update", "nodes", "FOR UPDATE OF tables or aliases")                                  \
  X(selects, "COMPOUND", "nodes", "the members of a UNION / INTERSECT / EXCEPT")                   \
  /* INSERT, UPDATE, DELETE */                                                                     \
  X(_pairs, "INSERT UPDATE", "table", "{column, value} pairs of VALUES / SET")                     \
  X(_rows, "INSERT VALUES", "table", "further VALUES rows; a values() FROM's rows: lists of value nodes")                         \
  X(_select, "INSERT", "node", "INSERT ... SELECT")                                                \
  X(_select_columns, "INSERT", "nodes", "the columns of INSERT ... SELECT")                         \
  X(_on_conflict, "INSERT", "table", "ON CONFLICT (on_conflict)")                                  \
  X(kind, "on_conflict constraint", "string",                                                      \
    "do nothing / update; primary_key, unique, foreign_key or check")                              \
  X(constraint, "on_conflict ADD_CONSTRAINT", "string|table",                                      \
    "ON CONFLICT ON CONSTRAINT name; the constraint ALTER TABLE adds")                             \
  X(index_elements, "on_conflict", "nodes", "ON CONFLICT (columns)")                               \
  X(set_, "on_conflict", "table", "DO UPDATE SET {column, value} pairs")                           \
  X(where, "on_conflict", "node", "DO UPDATE ... WHERE")                                           \
  X(_on_duplicate, "INSERT", "table", "ON DUPLICATE KEY UPDATE {column, value} pairs (MySQL)")     \
  X(_upsert_froms, "INSERT", "nodes", "FROMs an upsert's SET and WHERE correlate to")              \
  X(_extra_froms, "UPDATE DELETE", "nodes", "UPDATE ... FROM / DELETE ... USING tables")           \
  X(_returning, "INSERT UPDATE DELETE", "nodes", "RETURNING")                                      \
  /* DDL */                                                                                        \
  X(if_not_exists, "CREATE_TABLE CREATE_INDEX CREATE_SEQUENCE", "boolean", "IF NOT EXISTS")                        \
  X(if_exists, "DROP_TABLE DROP_INDEX DROP_SEQUENCE DROP_ENUM", "boolean", "IF EXISTS")                                    \
  X(constraints, "CREATE_TABLE", "table", "the table's constraints (constraint)")                  \
  X(comment, "TABLE column_def ALTER_COLUMN COMMENT_ON", "string",                                 \
    "a table or column comment (MySQL inline, PostgreSQL COMMENT ON)")                             \
  X(mysql_engine, "TABLE", "string", "ENGINE= (MySQL)")                                            \
  X(mysql_charset, "TABLE", "string", "DEFAULT CHARSET= (MySQL)")                                  \
  X(mysql_collate, "TABLE", "string", "COLLATE= (MySQL)")                                          \
  X(nullable, "column_def ALTER_COLUMN", "boolean", "NULL allowed (NOT NULL when false)")          \
  X(server_default, "column_def ALTER_COLUMN", "node|boolean", "DEFAULT (false: DROP DEFAULT)")    \
  X(_autoinc, "column_def", "boolean", "an auto-increment primary key column")                     \
  X(_sequence, "column_def", "boolean", "the column's values come from its Sequence (no SERIAL / AUTO_INCREMENT where sequences exist)") \
  X(identity, "column_def", "boolean", "GENERATED ... AS IDENTITY (where the database has it)")  \
  X(always, "column_def", "boolean", "GENERATED ALWAYS (not BY DEFAULT) AS IDENTITY")            \
  X(start, "column_def CREATE_SEQUENCE", "number", "START WITH of an identity or a sequence")     \
  X(increment, "column_def CREATE_SEQUENCE", "number", "INCREMENT BY of an identity or a sequence") \
  X(minvalue, "CREATE_SEQUENCE", "number", "a sequence's MINVALUE")                               \
  X(maxvalue, "CREATE_SEQUENCE", "number", "a sequence's MAXVALUE")                               \
  X(cycle, "CREATE_SEQUENCE", "boolean", "a sequence's CYCLE")                                    \
  X(computed, "column_def", "node", "GENERATED ALWAYS AS (this): a computed column's expression") \
  X(persisted, "column_def", "boolean", "a computed column's STORED (true) / VIRTUAL (false)")     \
  X(ref_schema, "constraint", "string", "a foreign key's referred schema")                         \
  X(ref_table, "constraint", "string", "a foreign key's referred table")                           \
  X(ref_columns, "constraint", "strings", "a foreign key's referred columns")                      \
  X(ondelete, "constraint", "string", "ON DELETE action")                                          \
  X(onupdate, "constraint", "string", "ON UPDATE action")                                          \
  X(deferrable, "constraint", "boolean", "DEFERRABLE / NOT DEFERRABLE")                            \
  X(initially, "constraint", "string", "INITIALLY DEFERRED / IMMEDIATE")                           \
  X(sqltext, "constraint", "node", "a CHECK's expression")                                         \
  X(unique, "CREATE_INDEX DROP_CONSTRAINT", "boolean", "a unique index; a unique constraint (MySQL drops it as an index)") \
  X(foreign_key, "DROP_CONSTRAINT", "boolean", "a foreign key (MySQL: DROP FOREIGN KEY)")          \
  X(expressions, "CREATE_INDEX", "nodes", "the indexed expressions")                               \
  X(_mysql_lengths, "CREATE_INDEX", "table", "per expression, a prefix length (MySQL)")            \
  X(postgresql_using, "CREATE_INDEX", "string", "USING access method (PostgreSQL)")                \
  X(postgresql_where, "CREATE_INDEX", "node", "a partial index's WHERE (PostgreSQL)")              \
  X(sqlite_where, "CREATE_INDEX", "node", "a partial index's WHERE (SQLite)")                      \
  X(column, "ADD_COLUMN COMMENT_ON", "table|string", "the column_def ADD COLUMN adds; the column COMMENT ON names") \
  X(new_name, "RENAME_TABLE RENAME_COLUMN", "string", "RENAME TO")

/* One enum per field (QSF_name), in list order, for code that wants a name
** for a field rather than a literal. */
enum {
  QSF_NONE_ = 0,
#define QS_FIELD_(name, carriers, form, meaning) QSF_##name,
  QS_NODE_FIELDS(QS_FIELD_)
#undef QS_FIELD_
  QSF_LAST_
};

#endif
