// Must not compile: the domain may not reach into the API (tests/layers/CMakeLists.txt).
#include "api/json/problem.hpp"
