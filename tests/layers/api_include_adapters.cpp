// Must not compile: the API may not reach into an adapter (tests/layers/CMakeLists.txt).
#include "adapters/pg/codec.hpp"
