// Must not compile: the domain may not reach into an adapter (tests/layers/CMakeLists.txt).
#include "adapters/pg/journal.hpp"
