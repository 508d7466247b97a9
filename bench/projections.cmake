# bench_projection: the projections' figures (issue 6). Included from
# bench/CMakeLists.txt.
billow_add_bench(projection
  SOURCES
    projection_bench.cpp
  DEPENDS
    billow::projections billow_test_support)
