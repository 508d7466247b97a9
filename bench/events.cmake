# bench_event: the event store's figures (issue 3). Included from
# bench/CMakeLists.txt so that file stays a list of one-line includes.
pkg_check_modules(libpq REQUIRED IMPORTED_TARGET libpq)
billow_add_bench(event
  SOURCES
    event_bench.cpp
  DEPENDS
    billow::events billow::actors billow::vault Boost::json billow_test_support billow_test_servers RocksDB::rocksdb
    PkgConfig::libpq)
