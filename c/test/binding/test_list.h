/* test_list.h: every binding test (build/binding_tests, c/test/binding/),
** once; c/test/test_main.c expands it twice. */
#define TEST_LIST(X)                   \
  X(waiting_protocol)                  \
  X(waiting_waiter_lookup)             \
  X(compiler_columns_tables_aliases)   \
  X(compiler_binds_and_keys)           \
  X(compiler_literals_null_true_false) \
  X(compiler_operators)                \
  X(compiler_precedence)               \
  X(compiler_functions_case_cast)      \
  X(compiler_in_between_subqueries)    \
  X(compiler_joins)                    \
  X(compiler_json_and_windows)         \
  X(compiler_errors)                   \
  X(compiler_select_clauses)           \
  X(compiler_for_update)               \
  X(compiler_compounds_and_ctes)       \
  X(compiler_insert)                   \
  X(compiler_update_delete)            \
  X(compiler_create_drop_table)        \
  X(compiler_indexes)                  \
  X(compiler_alter_ddl)                \
  X(uow_toposort)                      \
  X(uow_changed_keys)                  \
  X(uow_changed_collections)           \
  X(uow_changed_collections_sid)       \
  X(uow_pick_copy_list)                \
  X(load_new_objects)                  \
  X(load_identity_map)                 \
  X(load_fallback_rows)                \
  X(load_refuses_bad_specs)
