// Must not compile: the shared utilities depend on nothing of Mercato's (tests/layers/).
#include "runtime/shard_region.hpp"
