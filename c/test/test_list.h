/* test_list.h: every C test, once; test_main.c expands it twice. */
#define TEST_LIST(X)          \
  X(buf_grows)                \
  X(buf_printf)               \
  X(error_codes)              \
  X(dialect_quote)            \
  X(dialect_find)             \
  X(text_qmark)               \
  X(text_dollar_reuse)        \
  X(text_skips_quoted)        \
  X(literal_strings)          \
  X(literal_refuses_nul_and_nonfinite) \
  X(literal_numbers_blobs_null) \
  X(ident_quoting)            \
  X(type_names)               \
  X(sqlite_roundtrip)         \
  X(sqlite_cache_hits)        \
  X(sqlite_cache_in_use)      \
  X(sqlite_cache_evicts)      \
  X(sqlite_lazy_begin)        \
  X(sqlite_savepoint)         \
  X(sqlite_errors)            \
  X(sqlite_bind_count)        \
  X(sqlite_close_detaches)    \
  X(sqlite_bad_open)          \
  X(sqlite_statement_timeout) \
  X(sqlite_cancel_from_thread) \
  X(pool_reuses_connections)  \
  X(pool_times_out_when_exhausted) \
  X(pool_resets_on_return)    \
  X(pool_invalidation_recycles_older) \
  X(pool_eight_threads)       \
  X(pool_shared_by_name)      \
  X(pool_fork_safe)
