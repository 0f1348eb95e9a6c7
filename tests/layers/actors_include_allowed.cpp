// Must compile: what the domain may use, through the same view the probes above get.
#include "actors/protocol/messages.hpp"
#include "config/settings.hpp"
#include "runtime/shard_region.hpp"
