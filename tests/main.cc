// The Catch2 main for doppel_tests; the tests live in *_test.cc.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
